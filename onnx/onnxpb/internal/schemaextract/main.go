// Command schemaextract turns the ONNX schema that the npm package onnx-buf
// embeds in its JavaScript (a base64 FileDescriptorProto passed to fileDesc)
// into a binary FileDescriptorSet that protoc reads with --descriptor_set_in.
//
//	go run ./internal/schemaextract -js node_modules/onnx-buf/dist/onnx_pb.js -out schema/onnx.binpb
package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

var embedded = regexp.MustCompile(`fileDesc\("([A-Za-z0-9+/=]+)"`)

func main() {
	js := flag.String("js", "", "path of onnx-buf's dist/onnx_pb.js")
	out := flag.String("out", "schema/onnx.binpb", "FileDescriptorSet to write")
	flag.Parse()
	if err := run(*js, *out); err != nil {
		fmt.Fprintln(os.Stderr, "schemaextract:", err)
		os.Exit(1)
	}
}

func run(jsPath, outPath string) error {
	src, err := os.ReadFile(jsPath)
	if err != nil {
		return err
	}
	m := embedded.FindSubmatch(src)
	if m == nil {
		return fmt.Errorf("%s: no fileDesc(\"...\") call found", jsPath)
	}
	// protobuf-es writes base64 without padding.
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(string(m[1]), "="))
	if err != nil {
		return fmt.Errorf("%s: embedded descriptor: %w", jsPath, err)
	}
	fd := new(descriptorpb.FileDescriptorProto)
	if err := proto.Unmarshal(raw, fd); err != nil {
		return fmt.Errorf("%s: embedded descriptor: %w", jsPath, err)
	}
	if fd.GetName() != "onnx.proto" || fd.GetPackage() != "onnx" {
		return fmt.Errorf("%s: descriptor is %q package %q, want onnx.proto package onnx", jsPath, fd.GetName(), fd.GetPackage())
	}
	set := &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{fd}}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		return err
	}
	return os.WriteFile(outPath, b, 0o644)
}
