package logbook

// skipValue finds the end of the JSON value at i without building it
// (for error recovery and non-object entries). ok is false when the value
// is not well-formed or is nested deeper than maxStack.
func skipValue(b []byte, i int) (end int, ok bool) {
	const maxStack = 512
	var stack [maxStack]byte
	n := 0
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, false
		}
		// A value.
		switch c := b[i]; {
		case c == '{' || c == '[':
			if n == maxStack {
				return i, false
			}
			close := byte('}')
			if c == '[' {
				close = ']'
			}
			stack[n] = close
			n++
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == close {
				n--
				i++
				break
			}
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return i, false
				}
				if i, ok = skipString(b, i); !ok {
					return i, false
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return i, false
				}
				i++
			}
			continue
		case c == '"':
			if i, ok = skipString(b, i); !ok {
				return i, false
			}
		default:
			r := jsonReader{b: b, i: i}
			if c == '-' || c >= '0' && c <= '9' {
				if _, err := r.number(); err != nil {
					return r.i, false
				}
			} else {
				var err *scanErr
				switch c {
				case 't':
					err = r.literal("true")
				case 'f':
					err = r.literal("false")
				case 'n':
					err = r.literal("null")
				default:
					return i, false
				}
				if err != nil && !err.budget {
					return r.i, false
				}
			}
			i = r.i
		}
		// After a value: close containers or move to the next member.
		for {
			if n == 0 {
				return i, true
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == stack[n-1] {
				n--
				i++
				continue
			}
			if b[i] != ',' {
				return i, false
			}
			i++
			if stack[n-1] == '}' {
				if i = skipSpace(b, i); i >= len(b) || b[i] != '"' {
					return i, false
				}
				if i, ok = skipString(b, i); !ok {
					return i, false
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return i, false
				}
				i++
			}
			break
		}
	}
}

func skipString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
		case c < 0x20:
			return i, false
		}
	}
	return i, false
}
