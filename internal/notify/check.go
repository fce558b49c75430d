package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Check is a webhook analysis check: it POSTs body as JSON to url and passes
// on a 2xx answer. detail says what the receiver answered (its status and the
// start of its body). err is set only when no answer came (bad URL, network
// error, timeout): the check was inconclusive rather than failed. timeout
// bounds the whole exchange; 0 means 10s.
func Check(ctx context.Context, url string, body any, timeout time.Duration) (pass bool, detail string, err error) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	b, err := json.Marshal(body)
	if err != nil {
		return false, "", fmt.Errorf("webhook check %s: body: %w", redact(url), err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return false, "", fmt.Errorf("webhook check %s: invalid URL", redact(url))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ferry-check")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, "", fmt.Errorf("webhook check %s: %w", redact(url), cleanErr(err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	detail = fmt.Sprintf("HTTP %d", resp.StatusCode)
	if s := strings.Join(strings.Fields(string(snippet)), " "); s != "" {
		detail += ": " + s
	}
	return resp.StatusCode >= 200 && resp.StatusCode < 300, detail, nil
}
