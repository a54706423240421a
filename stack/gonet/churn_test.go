package gonet

import (
	"context"
	"testing"
	"time"
)

// TestConnectionChurn opens and closes connections back to back: the
// descriptor numbers are reused every time, which once let a finished
// Dial's deadline hook fail the next connection on the same number.
func TestConnectionChurn(t *testing.T) {
	client, server := pair(t)
	ln, err := Listen(server, ":5001")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	start := time.Now()
	for i := 0; i < 2000; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := Dial(ctx, client, "10.0.0.2:5001")
		cancel()
		if err != nil {
			t.Fatalf("conn %d after %v: %v\nclient %+v\nserver %+v\nclient conns %d server conns %d", i, time.Since(start), err,
				client.Stats(), server.Stats(), len(client.Connections()), len(server.Connections()))
		}
		c.Close()
		if err := c.Close(); err == nil {
			t.Fatal("a second Close succeeded: it would close whatever now has the number")
		}
	}
	t.Logf("2000 connections in %v", time.Since(start))
}
