package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// decodeJSON reads one JSON object into v, strictly: unknown fields,
// trailing data, wrong types and oversized bodies are refused with the
// status a client can act on. An empty body decodes as {} when allowEmpty.
func decodeJSON(r *http.Request, v any, allowEmpty bool) error {
	_, err := readJSON(r, v, allowEmpty)
	return err
}

// readJSON is decodeJSON that also returns the body it read (nil when it
// could not be read whole), so a refusal can be remembered under an
// Idempotency-Key with the bytes it refused.
func readJSON(r *http.Request, v any, allowEmpty bool) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, errBadRequest("unreadable_body", "cannot read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return body, nil
		}
		return body, errBadRequest("malformed_json", "the request body is empty; a JSON object is required")
	}
	// The Content-Type is not checked: curl's default form type on a JSON
	// body is the commonest mistake, and the body either parses or not.
	if err := checkJSONText(body); err != nil {
		return body, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return body, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return body, errBadRequest("malformed_json", "unexpected data after the JSON object")
	}
	return body, nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return errBadRequest("malformed_json", fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBadRequest("malformed_json", "the JSON body ends too early")
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return errBadRequest("malformed_json", "the body must be a JSON object")
		}
		msg := fmt.Sprintf("%s must be %s, got %s", field, typeName(te.Type.Kind().String()), te.Value)
		if field == "amount" {
			msg = "amount must be a positive integer number of minor units (e.g. 1050 for 10.50 EUR)"
		}
		return errInvalid(field, msg)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return errBadRequest("unknown_field", strings.TrimPrefix(err.Error(), "json: "))
	}
	return errBadRequest("malformed_json", err.Error())
}

func typeName(kind string) string {
	switch kind {
	case "int64", "int", "int32":
		return "an integer"
	case "map":
		return "an object"
	case "slice":
		return "an array"
	}
	return "a " + kind
}
