package main

import (
	"encoding/pem"
	"os"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

// flipByteCmd runs `flipbyte CERT INDEX OUT`: it writes OUT, a copy of the
// certificate envelope CERT with one bit of body byte INDEX flipped (a
// negative INDEX counts from the end, where the signature is), so a script
// can tamper with a certificate exactly as an attacker would.
func flipByteCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: flipbyte CERT INDEX OUT")
	}
	block, _ := pem.Decode([]byte(ts.ReadFile(args[0])))
	if block == nil {
		ts.Fatalf("flipbyte: %s holds no PEM block", args[0])
	}
	i, err := strconv.Atoi(args[1])
	ts.Check(err)
	if i < 0 {
		i += len(block.Bytes)
	}
	if i < 0 || i >= len(block.Bytes) {
		ts.Fatalf("flipbyte: index %s outside the %d-byte body", args[1], len(block.Bytes))
	}
	block.Bytes[i] ^= 0x01
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), pem.EncodeToMemory(block), 0o644))
}
