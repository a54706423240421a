package topology

import (
	"strings"
	"testing"
	"time"
)

func TestParseImpairment(t *testing.T) {
	im, err := ParseImpairment(map[string]string{"delay": "50ms", "jitter": "5ms", "loss": "2%", "rate": "10mbit"})
	if err != nil {
		t.Fatal(err)
	}
	if im.Delay != 50*time.Millisecond || im.Jitter != 5*time.Millisecond || im.Loss.P != 0.02 || im.Rate != 10e6 {
		t.Fatalf("ParseImpairment = %+v", im)
	}
	if _, err := ParseImpairment(map[string]string{"delay": "fast"}); err == nil || !strings.Contains(err.Error(), "delay") {
		t.Fatalf("a bad delay: %v", err)
	}
	if _, err := ParseImpairment(map[string]string{"lost": "2%"}); err == nil || !strings.Contains(err.Error(), "loss") {
		t.Fatalf("a misspelt key should suggest loss: %v", err)
	}
}
