// Command ferry is continuous delivery a team runs itself. This file only
// wires the command tree; each command lives in internal/cli.
package main

import (
	"os"

	"github.com/ferrycd/ferry/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
