// Command onnx-prom converts depthwise-separable CNNs in ONNX form the PROM
// way: ternary pointwise convolutions, 8-bit everything else.
//
// Usage:
//
//	onnx-prom [convert] IN.onnx OUT.onnx [flags]   convert a model
//	onnx-prom inspect MODEL [--json]               describe a model
//	onnx-prom run MODEL [--input name=x.npy]       run a model in the Go interpreter
//	onnx-prom verify REF.onnx CAND.onnx --data D   compare a converted model with its reference
//	onnx-prom cost MODEL [--json] [--html F]       energy and storage estimate
//	onnx-prom finetune IN.onnx OUT.onnx --data D   PROM quantization-aware training
//	onnx-prom help [COMMAND]
//
// Exit codes: 0 success; 1 the conversion or a verification failed; 2 bad
// usage or bad input (unreadable or malformed model, missing file).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes, stable for scripts.
const (
	exitOK      = 0
	exitFailure = 1 // conversion or verification failed
	exitUsage   = 2 // bad usage or bad input
)

// command is one subcommand.
type command struct {
	name  string
	usage string // one line: arguments and flags
	doc   string // one line
	run   func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError is bad usage or bad input: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// inputError marks an error in what the user gave (a malformed model): exit 2.
func inputError(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// failure is a conversion or verification failure: exit code 1.
type failure struct{ err error }

func (e failure) Error() string { return e.err.Error() }
func (e failure) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	name := args[0]
	c := commands[name]
	rest := args[1:]
	switch {
	case name == "help" || name == "-h" || name == "--help" || name == "-help":
		if len(rest) > 0 && commands[rest[0]] != nil {
			c := commands[rest[0]]
			fmt.Fprintf(stdout, "usage: onnx-prom %s %s\n\n%s\n", c.name, c.usage, c.doc)
			return exitOK
		}
		printUsage(stdout)
		return exitOK
	case c == nil && commands["convert"] != nil && strings.HasSuffix(name, ".onnx"):
		c, rest = commands["convert"], args
	case c == nil:
		fmt.Fprintf(stderr, "onnx-prom: unknown command %q (try onnx-prom help)\n", name)
		return exitUsage
	}
	err := c.run(rest, stdout, stderr)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "onnx-prom %s: %s\n", c.name, oneLine(err.Error()))
	var f failure
	if errors.As(err, &f) {
		return exitFailure
	}
	return exitUsage
}

// oneLine folds an error message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: onnx-prom COMMAND [ARGS]   (onnx-prom IN.onnx OUT.onnx converts)")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].doc)
	}
	fmt.Fprintln(w, "\nexit codes: 0 success, 1 conversion or verification failed, 2 bad usage or input")
}

// newFlags returns a FlagSet whose errors come back as usage errors.
func newFlags(c *command, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("onnx-prom "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: onnx-prom %s %s\n", c.name, c.usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses flags placed anywhere among the arguments and returns
// the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
