package testenv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// The MongoDB wire protocol, just enough to send {ping: 1} as an OP_MSG and
// check that the answer says ok: 1. See
// https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/.
const opMsg = 2013

// pingMongo runs the "ping" command against the admin database.
func pingMongo(ctx context.Context, addr string) error {
	conn, err := dial(ctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()

	if _, err := conn.Write(opMsgCommand(1, bsonDoc(
		bsonInt32("ping", 1),
		bsonString("$db", "admin"),
	))); err != nil {
		return err
	}
	doc, err := readOpMsg(conn, 1)
	if err != nil {
		return err
	}
	ok, err := bsonNumber(doc, "ok")
	if err != nil {
		return fmt.Errorf("ping reply: %w", err)
	}
	if ok != 1 {
		return fmt.Errorf("ping reply has ok: %v", ok)
	}
	return nil
}

// opMsgCommand frames body (a BSON document) as an OP_MSG with one kind-0
// section.
func opMsgCommand(requestID int32, body []byte) []byte {
	msg := make([]byte, 16+4+1, 16+4+1+len(body))
	msg = append(msg, body...)
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.LittleEndian.PutUint32(msg[4:], uint32(requestID))
	binary.LittleEndian.PutUint32(msg[8:], 0) // responseTo
	binary.LittleEndian.PutUint32(msg[12:], opMsg)
	binary.LittleEndian.PutUint32(msg[16:], 0) // flagBits
	msg[20] = 0                                // section kind 0: body
	return msg
}

// readOpMsg reads one OP_MSG reply to requestID and returns its body document.
func readOpMsg(r io.Reader, requestID int32) ([]byte, error) {
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	size := int(int32(binary.LittleEndian.Uint32(hdr[0:])))
	responseTo := int32(binary.LittleEndian.Uint32(hdr[8:]))
	op := binary.LittleEndian.Uint32(hdr[12:])
	if size < 16+4+1+5 || size > 48<<20 {
		return nil, fmt.Errorf("reply has bad length %d", size)
	}
	if op != opMsg {
		return nil, fmt.Errorf("reply has opCode %d, want %d", op, opMsg)
	}
	if responseTo != requestID {
		return nil, fmt.Errorf("reply answers request %d, want %d", responseTo, requestID)
	}
	rest := make([]byte, size-16)
	if _, err := io.ReadFull(r, rest); err != nil {
		return nil, err
	}
	// rest: flagBits (4), then sections; the body is the kind-0 section.
	sections := rest[4:]
	for len(sections) > 0 {
		kind := sections[0]
		sections = sections[1:]
		if len(sections) < 4 {
			return nil, errors.New("reply section truncated")
		}
		n := int(int32(binary.LittleEndian.Uint32(sections)))
		if n < 5 || n > len(sections) {
			return nil, errors.New("reply section has bad length")
		}
		if kind == 0 {
			return sections[:n], nil
		}
		sections = sections[n:] // kind 1: size-prefixed document sequence
	}
	return nil, errors.New("reply has no body section")
}

func bsonDoc(elems ...[]byte) []byte {
	size := 4 + 1
	for _, e := range elems {
		size += len(e)
	}
	doc := binary.LittleEndian.AppendUint32(make([]byte, 0, size), uint32(size))
	for _, e := range elems {
		doc = append(doc, e...)
	}
	return append(doc, 0)
}

func bsonInt32(name string, v int32) []byte {
	e := append([]byte{0x10}, name...)
	e = append(e, 0)
	return binary.LittleEndian.AppendUint32(e, uint32(v))
}

func bsonString(name, v string) []byte {
	e := append([]byte{0x02}, name...)
	e = append(e, 0)
	e = binary.LittleEndian.AppendUint32(e, uint32(len(v)+1))
	e = append(e, v...)
	return append(e, 0)
}

// bsonNumber returns the numeric (double, int32, int64 or bool) top-level
// field name of doc.
func bsonNumber(doc []byte, name string) (float64, error) {
	if len(doc) < 5 {
		return 0, errors.New("document too short")
	}
	b := doc[4 : len(doc)-1]
	for len(b) > 0 {
		typ := b[0]
		end := bytes.IndexByte(b[1:], 0)
		if end < 0 {
			return 0, errors.New("bad element name")
		}
		key := string(b[1 : 1+end])
		b = b[2+end:]
		var size int
		switch typ {
		case 0x01, 0x09, 0x11, 0x12: // double, UTC datetime, timestamp, int64
			size = 8
		case 0x10: // int32
			size = 4
		case 0x08: // bool
			size = 1
		case 0x0A: // null
			size = 0
		case 0x07: // ObjectId
			size = 12
		case 0x13: // decimal128
			size = 16
		case 0x02, 0x0D, 0x0E: // string, JavaScript, symbol
			if len(b) < 4 {
				return 0, errors.New("truncated string")
			}
			size = 4 + int(int32(binary.LittleEndian.Uint32(b)))
		case 0x03, 0x04: // document, array
			if len(b) < 4 {
				return 0, errors.New("truncated document")
			}
			size = int(int32(binary.LittleEndian.Uint32(b)))
		case 0x05: // binary
			if len(b) < 4 {
				return 0, errors.New("truncated binary")
			}
			size = 4 + 1 + int(int32(binary.LittleEndian.Uint32(b)))
		default:
			if key == name {
				return 0, fmt.Errorf("field %q has BSON type %#x", name, typ)
			}
			return 0, fmt.Errorf("field %q not found before unsupported BSON type %#x", name, typ)
		}
		if size < 0 || size > len(b) {
			return 0, errors.New("truncated element")
		}
		if key == name {
			v := b[:size]
			switch typ {
			case 0x01:
				return math.Float64frombits(binary.LittleEndian.Uint64(v)), nil
			case 0x10:
				return float64(int32(binary.LittleEndian.Uint32(v))), nil
			case 0x12:
				return float64(int64(binary.LittleEndian.Uint64(v))), nil
			case 0x08:
				if v[0] != 0 {
					return 1, nil
				}
				return 0, nil
			default:
				return 0, fmt.Errorf("field %q has BSON type %#x, not a number", name, typ)
			}
		}
		b = b[size:]
	}
	return 0, fmt.Errorf("field %q not found", name)
}
