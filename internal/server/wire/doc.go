package wire

// ErrorDoc is the body of every non-2xx API response, and the payload of an
// Error frame.
type ErrorDoc struct {
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

// Health is the body of GET /v1/health.
type Health struct {
	OK      bool   `json:"ok"`
	Version string `json:"version"`
}

// Version is the body of GET /v1/version.
type Version struct {
	Version string `json:"version"`
	Go      string `json:"go"`
}

// TTYHeader, set to "1" on the upgrade request, asks for a terminal.
const TTYHeader = "Ferry-Exec-Tty"

// NDJSON is the media type of streamed responses: one JSON value per line.
const NDJSON = "application/x-ndjson"
