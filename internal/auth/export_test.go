package auth

// IDKeyFunc is argon2.IDKey's signature.
type IDKeyFunc = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// WrapIDKey replaces the argon2id function with wrap(real) until restore
// is called, so a test can count the computations running at once.
func WrapIDKey(wrap func(real IDKeyFunc) IDKeyFunc) (restore func()) {
	real := idKey
	idKey = wrap(real)
	return func() { idKey = real }
}
