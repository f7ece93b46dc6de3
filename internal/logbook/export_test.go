package logbook

// QueuedRequests lets tests see how many ingest requests wait for a
// flusher, to make batching observable without timing.
func QueuedRequests(s *Service) int { return len(s.reqs) }
