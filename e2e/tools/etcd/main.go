// etcd for the real tier's API server: etcd v3.6.16's own entry point. The root module go.etcd.io/etcd/v3
// is not served by the module proxy at that version, and go.etcd.io/etcd/server/v3 cannot be installed
// directly (its go.mod has replace directives), so this module calls its main package's Main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
