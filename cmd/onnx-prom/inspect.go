package main

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/inspect"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
)

func init() {
	register(&command{
		name:  "inspect",
		usage: "MODEL [--json] [--shape NAME=D1,D2,...]...",
		doc:   "describe a model: interface, operators, parameters, MACs, depthwise/pointwise convs and chains",
		run:   runInspect,
	})
}

// inspectShapeFlags collects repeated --shape NAME=D1,D2,... flags.
type inspectShapeFlags map[string][]int64

func (s inspectShapeFlags) String() string { return "" }

func (s inspectShapeFlags) Set(v string) error {
	name, dims, ok := strings.Cut(v, "=")
	if !ok || name == "" || dims == "" {
		return fmt.Errorf("want NAME=D1,D2,..., got %q", v)
	}
	var out []int64
	for _, d := range strings.Split(dims, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(d), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad dimension %q in %q", d, v)
		}
		out = append(out, n)
	}
	s[name] = out
	return nil
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	c := commands["inspect"]
	fs := newFlags(c, stderr)
	asJSON := fs.Bool("json", false, "write the report as JSON")
	inShapes := inspectShapeFlags{}
	fs.Var(inShapes, "shape", "fix the shape of input `NAME=D1,D2,...` (repeatable), e.g. x=1,3,640,640")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one MODEL argument, got %d (usage: onnx-prom inspect %s)", len(pos), c.usage)
	}
	path := pos[0]
	mp, err := onnx.Load(path)
	if err != nil {
		// Load names the file in its errors, except when opening fails.
		if !strings.Contains(err.Error(), path) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		return inputError(err)
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err))
	}
	r, err := inspect.AnalyzeWith(m, inspect.Options{InputShapes: inShapes})
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err))
	}
	r.File = path
	var buf bytes.Buffer
	if *asJSON {
		err = r.WriteJSON(&buf)
	} else {
		err = r.WriteText(&buf)
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(buf.Bytes())
	return err
}
