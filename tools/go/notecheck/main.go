// Command notecheck verifies a C2SP signed note with golang.org/x/mod/sumdb/note, the Go
// project's implementation of signed notes (Debian package golang-golang-x-mod-dev), so that the
// batterytrace tests check the project's checkpoint notes with a verifier that is not its own.
//
// Usage: notecheck VKEY < NOTE
//
// On success it prints the verified note text as JSON ({"text": ..., "signers": [...]}) and exits
// 0; on refusal it prints "refused: <reason>" to stderr and exits 1. Only the note signature is
// checked here; the test reads origin, size and root from the verified text.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: notecheck VKEY < NOTE")
		os.Exit(2)
	}
	verifier, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "refused: bad verifier key: %v\n", err)
		os.Exit(1)
	}
	msg, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	if err != nil {
		fmt.Fprintf(os.Stderr, "refused: cannot read the note: %v\n", err)
		os.Exit(1)
	}
	opened, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fmt.Fprintf(os.Stderr, "refused: %v\n", err)
		os.Exit(1)
	}
	signers := []string{}
	for _, s := range opened.Sigs {
		signers = append(signers, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	out, _ := json.Marshal(map[string]any{"text": opened.Text, "signers": signers})
	fmt.Println(string(out))
}
