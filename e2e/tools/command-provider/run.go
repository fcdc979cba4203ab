package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// The environment variables that hand a command the previous stdout and stderr (v1.2.1
// provider/pkg/provider/util/util.go).
const (
	envPreviousStdout = "PULUMI_COMMAND_STDOUT"
	envPreviousStderr = "PULUMI_COMMAND_STDERR"
)

// shouldLogStdout and shouldLogStderr: v1.2.1 local/logging.go. Unset means both; any value other
// than the four known ones logs nothing.
func shouldLogStdout(l *string) bool {
	return l == nil || *l == "stdout" || *l == "stdoutAndStderr"
}

func shouldLogStderr(l *string) bool {
	return l == nil || *l == "stderr" || *l == "stdoutAndStderr"
}

// lockedWriter serialises writes from the stdout and stderr copiers into one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// logFunc receives each line the command prints that the logging setting lets through.
type logFunc func(line string)

// runCommand runs one command as v1.2.1's local `run` does (local/commandOutputs.go): through the
// interpreter (default `/bin/sh -c` off Windows), in dir or else the provider's working directory
// (the engine starts providers in the program's folder), with the provider's environment plus
// `environment`, plus PULUMI_COMMAND_STDOUT/STDERR holding the previous outputs when they are not
// empty and addPreviousOutputInEnv is not false, with stdin when it is not empty. Each line of
// output is logged as allowed by `logging`. On success it returns stdout and stderr without one
// trailing newline each; on failure an error naming the command and holding its interleaved output.
func runCommand(ctx context.Context, command string, in commandArgs, prevStdout, prevStderr string, log logFunc,
) (stdout, stderr string, err error) {
	var args []string
	if len(in.Interpreter) > 0 {
		args = append(args, in.Interpreter...)
	} else if runtime.GOOS == "windows" {
		args = []string{"cmd", "/C"}
	} else {
		args = []string{"/bin/sh", "-c"}
	}
	args = append(args, command)

	var stdoutBuf, stderrBuf, bothBuf bytes.Buffer // bothBuf is for the error message only
	both := &lockedWriter{w: &bothBuf}
	logReader, logWriter := io.Pipe()

	cmd := exec.CommandContext(ctx, args[0], args[1:]...)

	stdoutWriters := []io.Writer{&stdoutBuf, both}
	if shouldLogStdout(in.Logging) {
		stdoutWriters = append(stdoutWriters, logWriter)
	}
	cmd.Stdout = io.MultiWriter(stdoutWriters...)

	stderrWriters := []io.Writer{&stderrBuf, both}
	if shouldLogStderr(in.Logging) {
		stderrWriters = append(stderrWriters, logWriter)
	}
	cmd.Stderr = io.MultiWriter(stderrWriters...)

	if in.Dir != nil {
		cmd.Dir = *in.Dir
	} else if cmd.Dir, err = os.Getwd(); err != nil {
		return "", "", err
	}

	cmd.Env = os.Environ()
	keys := make([]string, 0, len(in.Environment))
	for k := range in.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%s", k, in.Environment[k]))
	}
	if in.AddPreviousOutputInEnv == nil || *in.AddPreviousOutputInEnv {
		if prevStdout != "" {
			cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%s", envPreviousStdout, prevStdout))
		}
		if prevStderr != "" {
			cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%s", envPreviousStderr, prevStderr))
		}
	}

	if in.Stdin != nil && len(*in.Stdin) > 0 {
		cmd.Stdin = strings.NewReader(*in.Stdin)
	}

	logged := make(chan struct{})
	go logLines(logReader, logged, log)

	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}

	logWriter.Close()
	<-logged

	if err != nil {
		return "", "", fmt.Errorf("%w: running %q:\n%s", err, command, bothBuf.String())
	}
	return strings.TrimSuffix(stdoutBuf.String(), "\n"), strings.TrimSuffix(stderrBuf.String(), "\n"), nil
}

// logLines logs r line by line (v1.2.1 util.LogOutput: a bufio.Scanner, each line an info status
// message). Unlike v1.2.1, a line longer than the scanner's 64 KiB limit does not leave the pipe
// unread (which would block the command's output forever): the rest is drained unlogged.
func logLines(r io.Reader, done chan<- struct{}, log logFunc) {
	defer close(done)
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		if log != nil {
			log(scanner.Text())
		}
	}
	_, _ = io.Copy(io.Discard, r)
}
