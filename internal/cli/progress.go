package cli

import (
	"fmt"
	"io"
	"strings"
)

// progressBar redraws one terminal line as a bulk operation advances. It is only used
// when stdout is a terminal, so pipes and files never receive its control characters.
type progressBar struct {
	w     io.Writer
	label string
	drawn bool
}

const progressWidth = 30

// update draws done out of total; it matches BulkAddRequest.Progress.
func (p *progressBar) update(done, total int) {
	if total <= 0 {
		return
	}
	done = min(max(done, 0), total)
	filled := progressWidth * done / total
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %3d%%", p.label,
		strings.Repeat("#", filled), strings.Repeat("-", progressWidth-filled), done, total, 100*done/total)
	p.drawn = true
}

// clear erases the bar so the result prints on a clean line; a nil bar does nothing.
func (p *progressBar) clear() {
	if p == nil || !p.drawn {
		return
	}
	fmt.Fprint(p.w, "\r\033[K")
	p.drawn = false
}
