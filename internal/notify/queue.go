package notify

// job is one event on its way to one target.
type job struct {
	target   Target
	event    string
	delivery string // X-Ferry-Delivery: the same on every attempt
	body     []byte
}

// queue is a bounded FIFO that makes room by dropping its oldest job: under
// a flood the newest events (the current state) are the ones worth sending.
type queue struct {
	jobs []job
	max  int
}

// push appends j; when the queue is full it drops the oldest job and
// returns it with dropped set.
func (q *queue) push(j job) (old job, dropped bool) {
	if len(q.jobs) >= q.max {
		old, dropped = q.jobs[0], true
		q.jobs = q.jobs[1:]
	}
	q.jobs = append(q.jobs, j)
	return old, dropped
}

func (q *queue) pop() (job, bool) {
	if len(q.jobs) == 0 {
		return job{}, false
	}
	j := q.jobs[0]
	q.jobs[0] = job{} // release the body
	q.jobs = q.jobs[1:]
	return j, true
}
