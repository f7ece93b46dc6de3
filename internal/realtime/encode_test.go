package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// The hand-written encoders must produce what encoding/json would.
func TestHandEncodingMatchesEncodingJSON(t *testing.T) {
	data := json.RawMessage(`{"message":"a \"quote\" <b> & ü \u2028","n":1}`)
	e := &Event{ID: "evt_01aaaaaaaaaaaaaaaaaaaaaaaa", Topic: TopicLogs, Type: "log.created", Data: data}
	if err := e.encodeFrame(); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(wireFrame{Type: "event", Topic: e.Topic, ID: e.ID, Event: e.Type, Data: e.Data})
	var got, exp any
	if json.Unmarshal(e.frame, &got) != nil || json.Unmarshal(want, &exp) != nil {
		t.Fatalf("invalid JSON: %s", e.frame)
	}
	g, _ := json.Marshal(got)
	x, _ := json.Marshal(exp)
	if !bytes.Equal(g, x) {
		t.Fatalf("frame differs:\n%s\n%s", e.frame, want)
	}

	var sent []byte
	bus := busFunc(func(msg []byte) { sent = msg })
	h := &Hub{bus: bus, opt: Options{Channel: "c"}}
	items := []Item{{Type: "log.created", Data: data, Attrs: Attrs{Level: "error", Service: `svc "x" <y>`}}, {Type: "log.created", Data: json.RawMessage(`{}`)}}
	if err := h.PublishBatch(context.Background(), TopicLogs, items); err != nil {
		t.Fatal(err)
	}
	var evs []Event
	if err := json.Unmarshal(sent, &evs); err != nil || len(evs) != 2 {
		t.Fatalf("batch does not decode: %v %s", err, sent)
	}
	if evs[0].Attrs != items[0].Attrs || evs[1].Attrs != (Attrs{}) || !ValidEventID(evs[0].ID) || evs[0].Topic != TopicLogs {
		t.Fatalf("batch decoded wrong: %+v", evs)
	}
	var d0 any
	if json.Unmarshal(evs[0].Data, &d0) != nil || d0.(map[string]any)["message"] != `a "quote" <b> & ü `+"\u2028" {
		t.Fatalf("data changed: %s", evs[0].Data)
	}
}

type busFunc func([]byte)

func (f busFunc) Publish(_ context.Context, _ string, msg []byte) error { f(msg); return nil }
func (f busFunc) Subscribe(context.Context, string, func([]byte)) (func(), error) {
	return func() {}, nil
}
