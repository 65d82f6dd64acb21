// Command gen writes the committed test models and calibration inputs of
// package models (see models.Files) into a directory:
//
//	go run ./testdata/models/gen -out testdata/models
//
// With -full it also writes the full torchvision MobileNetV2 as
// mobilenet_v2.onnx and mobilenet_v2_folded.onnx (about 14 MB each; not
// committed, see .gitignore).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onnx-prom/onnx-prom/testdata/models"
)

func main() {
	out := flag.String("out", ".", "directory to write the files into")
	full := flag.Bool("full", false, "also write the full MobileNetV2 (not committed)")
	flag.Parse()
	if err := run(*out, *full); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string, full bool) error {
	files, err := models.Files()
	if err != nil {
		return err
	}
	if full {
		for _, fold := range []bool{false, true} {
			cfg := models.Full()
			cfg.FoldBN = fold
			data, err := models.MobileNetV2Bytes(cfg)
			if err != nil {
				return err
			}
			name := "mobilenet_v2.onnx"
			if fold {
				name = "mobilenet_v2_folded.onnx"
			}
			files = append(files, models.File{Path: name, Data: data})
		}
	}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
