package logproto

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Loki's PushRequest is read straight off the wire with protowire rather
// than through Loki's generated types (github.com/grafana/loki/pkg/push):
// those link gogo/protobuf and gRPC, which grew the binary by 70 %, for
// five small messages. The tests encode with Loki's own types, so this
// reader is checked against the real encoding. The schema (push.proto):
//
//	PushRequest      { repeated StreamAdapter streams = 1; }
//	StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//	EntryAdapter     { Timestamp timestamp = 1; string line = 2;
//	                   repeated LabelPairAdapter structuredMetadata = 3; repeated LabelPairAdapter parsed = 4; }
//	LabelPairAdapter { string name = 1; string value = 2; }
//	Timestamp        { int64 seconds = 1; int32 nanos = 2; }

type lokiPBStream struct {
	labels  string
	entries []lokiPBEntry
}

type lokiPBEntry struct {
	ts   time.Time
	line string
	meta [][2]string
}

var errLokiPB = errors.New("truncated or invalid protobuf")

// lokiFields calls fn for each field of a message, with the field's bytes
// for length-delimited fields and its value for varints; other wire types
// are skipped.
func lokiFields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return errLokiPB
		}
		b = b[l:]
		switch typ {
		case protowire.BytesType:
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return errLokiPB
			}
			if err := fn(num, typ, v, 0); err != nil {
				return err
			}
			b = b[l:]
		case protowire.VarintType:
			v, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return errLokiPB
			}
			if err := fn(num, typ, nil, v); err != nil {
				return err
			}
			b = b[l:]
		default:
			l := protowire.ConsumeFieldValue(num, typ, b)
			if l < 0 {
				return errLokiPB
			}
			b = b[l:]
		}
	}
	return nil
}

// decodeLokiPB reads a PushRequest; maxEntries bounds the entries kept
// (beyond it only the count goes on, for the error message).
func decodeLokiPB(b []byte, maxEntries int) ([]lokiPBStream, int, error) {
	var streams []lokiPBStream
	total := 0
	err := lokiFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		var st lokiPBStream
		err := lokiFields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			switch {
			case num == 1 && typ == protowire.BytesType:
				st.labels = string(v)
			case num == 2 && typ == protowire.BytesType:
				total++
				if total > maxEntries {
					return nil
				}
				e, err := decodeLokiPBEntry(v)
				if err != nil {
					return err
				}
				st.entries = append(st.entries, e)
			}
			return nil
		})
		streams = append(streams, st)
		return err
	})
	return streams, total, err
}

func decodeLokiPBEntry(b []byte) (lokiPBEntry, error) {
	var e lokiPBEntry
	err := lokiFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			var sec, nsec int64
			if err := lokiFields(v, func(num protowire.Number, typ protowire.Type, _ []byte, n uint64) error {
				if typ == protowire.VarintType {
					switch num {
					case 1:
						sec = int64(n)
					case 2:
						nsec = int64(int32(n))
					}
				}
				return nil
			}); err != nil {
				return err
			}
			if sec != 0 || nsec != 0 {
				e.ts = time.Unix(sec, nsec).UTC()
			}
		case 2:
			e.line = string(v)
		case 3:
			var kv [2]string
			if err := lokiFields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if typ == protowire.BytesType && (num == 1 || num == 2) {
					kv[num-1] = string(v)
				}
				return nil
			}); err != nil {
				return err
			}
			e.meta = append(e.meta, kv)
		}
		return nil
	})
	if err != nil {
		return e, fmt.Errorf("an entry: %w", err)
	}
	return e, nil
}
