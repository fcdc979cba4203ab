package main

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/types/known/structpb"
)

// The wire options pulumi-go-provider v1.3.0 uses both ways (provider.go getMap/asStruct): unknowns,
// secrets, resource references and output values kept; nulls dropped.
var wireOptions = plugin.MarshalOptions{
	KeepUnknowns:     true,
	SkipNulls:        true,
	KeepResources:    true,
	KeepSecrets:      true,
	KeepOutputValues: true,
}

// normalize passes a property map through the sdk's property.Value form and back, as
// pulumi-go-provider does on every request and response: secrets and unknowns end up in one
// canonical shape (a secret unknown is an Output, an unknown is Computed("")).
func normalize(m resource.PropertyMap) resource.PropertyMap {
	if m == nil {
		return resource.PropertyMap{}
	}
	return resource.ToResourcePropertyMap(resource.FromResourcePropertyMap(m))
}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	m, err := plugin.UnmarshalProperties(s, wireOptions)
	if err != nil {
		return nil, err
	}
	return normalize(m), nil
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(normalize(m), wireOptions)
}

// isComputed: an unknown, plain or inside an Output (pulumi-go-provider internal/putil.IsComputed).
func isComputed(v resource.PropertyValue) bool {
	return v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known)
}

// deepEquals compares two values with secretness and knownness folded in, as putil.DeepEquals does
// (a secret "x" differs from a plain "x"; dependencies are not compared).
func deepEquals(a, b resource.PropertyValue) bool {
	return resource.FromResourcePropertyValue(a).WithDependencies(nil).
		Equals(resource.FromResourcePropertyValue(b).WithDependencies(nil))
}

// bare strips secret, computed and output wrappers. known is false if any wrapper was unknown.
func bare(v resource.PropertyValue) (inner resource.PropertyValue, known bool) {
	known = true
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsComputed():
			known = false
			v = v.Input().Element
		case v.IsOutput():
			o := v.OutputValue()
			known = known && o.Known
			v = o.Element
		default:
			return v, known
		}
	}
}

// goTypeName names the Go type a decoded value would have, for check failures worded as the sdk's
// mapper words them ("must be a 'string'; got 'float64' instead").
func goTypeName(v resource.PropertyValue) string {
	switch {
	case v.IsBool():
		return "bool"
	case v.IsNumber():
		return "float64"
	case v.IsString():
		return "string"
	case v.IsArray():
		return "[]interface {}"
	case v.IsObject():
		return "map[string]interface {}"
	case v.IsAsset():
		return "resource.Asset"
	case v.IsArchive():
		return "resource.Archive"
	case v.IsResourceReference():
		return "resource.ResourceReference"
	default:
		return "<nil>"
	}
}

// The input properties of command:local:Command in v1.2.1 (common.ResourceInputs + local.BaseInputs),
// in the order of its schema.
var inputNames = []string{
	"triggers", "create", "update", "delete",
	"stdin", "logging", "interpreter", "dir", "environment", "assetPaths", "archivePaths", "addPreviousOutputInEnv",
}

// The output-only properties (local.BaseOutputs).
var outputOnlyNames = []string{"stdout", "stderr", "assets", "archive"}

func isInputName(k string) bool {
	for _, n := range inputNames {
		if n == k {
			return true
		}
	}
	return false
}

func isOutputOnlyName(k string) bool {
	for _, n := range outputOnlyNames {
		if n == k {
			return true
		}
	}
	return false
}

// commandArgs is the typed view of a Command's inputs (v1.2.1 local.CommandInputs). Unknown values
// decode as their zero value, as the infer layer decodes them.
type commandArgs struct {
	Triggers               bool // set (its values matter only to Diff)
	Create                 *string
	Update                 *string
	Delete                 *string
	Stdin                  *string
	Logging                *string
	Interpreter            []string // nil when unset
	Dir                    *string
	Environment            map[string]string // nil when unset
	AssetPaths             bool
	ArchivePaths           bool
	AddPreviousOutputInEnv *bool
}

// commandState adds the outputs (local.BaseOutputs) that matter here.
type commandState struct {
	commandArgs
	Stdout string
	Stderr string
}

type checkFailure struct {
	Property string
	Reason   string
}

const inputsType = "local.CommandInputs"

func wrongType(key, expect string, got resource.PropertyValue) checkFailure {
	return checkFailure{key, fmt.Sprintf("Field '%s' on '%s' must be a '%s'; got '%s' instead",
		key, inputsType, expect, goTypeName(got))}
}

func decodeString(key string, v resource.PropertyValue, failures *[]checkFailure) *string {
	inner, known := bare(v)
	s := ""
	switch {
	case inner.IsString():
		s = inner.StringValue()
	case !known || inner.IsNull():
	default:
		*failures = append(*failures, wrongType(key, "string", inner))
		return nil
	}
	return &s
}

func decodeStrings(key string, v resource.PropertyValue, failures *[]checkFailure) []string {
	inner, known := bare(v)
	if !inner.IsArray() {
		if known && !inner.IsNull() {
			*failures = append(*failures, wrongType(key, "[]string", inner))
		}
		return []string{}
	}
	out := make([]string, 0, len(inner.ArrayValue()))
	for i, e := range inner.ArrayValue() {
		s := decodeString(fmt.Sprintf("%s[%d]", key, i), e, failures)
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}

// decodeArgs reads the typed inputs out of m. With outputs, the output-only properties of the state
// are accepted too; any other unrecognized property is a failure, as the infer layer's strict decode
// makes it.
func decodeArgs(m resource.PropertyMap, outputs bool) (commandState, []checkFailure) {
	var st commandState
	var failures []checkFailure
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[resource.PropertyKey(k)]
		switch k {
		case "triggers":
			inner, known := bare(v)
			if known && !inner.IsArray() && !inner.IsNull() {
				failures = append(failures, wrongType(k, "[]interface {}", inner))
			}
			st.Triggers = true
		case "create":
			st.Create = decodeString(k, v, &failures)
		case "update":
			st.Update = decodeString(k, v, &failures)
		case "delete":
			st.Delete = decodeString(k, v, &failures)
		case "stdin":
			st.Stdin = decodeString(k, v, &failures)
		case "logging":
			st.Logging = decodeString(k, v, &failures)
		case "dir":
			st.Dir = decodeString(k, v, &failures)
		case "interpreter":
			st.Interpreter = decodeStrings(k, v, &failures)
		case "assetPaths":
			decodeStrings(k, v, &failures)
			st.AssetPaths = true
		case "archivePaths":
			decodeStrings(k, v, &failures)
			st.ArchivePaths = true
		case "environment":
			inner, known := bare(v)
			st.Environment = map[string]string{}
			if inner.IsObject() {
				for ek, ev := range inner.ObjectValue() {
					if s := decodeString(fmt.Sprintf("%s.%s", k, ek), ev, &failures); s != nil {
						st.Environment[string(ek)] = *s
					}
				}
			} else if known && !inner.IsNull() {
				failures = append(failures, wrongType(k, "map[string]string", inner))
			}
		case "addPreviousOutputInEnv":
			inner, known := bare(v)
			b := false
			if inner.IsBool() {
				b = inner.BoolValue()
			} else if known && !inner.IsNull() {
				failures = append(failures, wrongType(k, "bool", inner))
			}
			st.AddPreviousOutputInEnv = &b
		case "stdout", "stderr":
			if !outputs {
				failures = append(failures, unrecognized(k))
				continue
			}
			if s := decodeString(k, v, &failures); s != nil {
				if k == "stdout" {
					st.Stdout = *s
				} else {
					st.Stderr = *s
				}
			}
		case "assets", "archive":
			if !outputs {
				failures = append(failures, unrecognized(k))
			}
		default:
			failures = append(failures, unrecognized(k))
		}
	}
	return st, failures
}

func unrecognized(k string) checkFailure {
	return checkFailure{k, fmt.Sprintf("Unrecognized field '%s' on '%s'", k, inputsType)}
}

func failuresError(failures []checkFailure) error {
	msg := fmt.Sprintf("%d failures decoding:", len(failures))
	for _, f := range failures {
		msg += fmt.Sprintf("\n\t%s: %s", f.Property, f.Reason)
	}
	return fmt.Errorf("%s", msg)
}

// inputsOf keeps the input properties of m, the part of the state that mirrors the inputs.
func inputsOf(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		if isInputName(string(k)) {
			out[k] = v
		}
	}
	return out
}
