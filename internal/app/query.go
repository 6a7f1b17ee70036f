package app

import (
	"fmt"
	"strings"
)

// Where is one condition of a query a use case builds and a store renders in
// its SQL: Cond names the condition (the store has a text for each), Args are
// its values.
type Where[C ~int] struct {
	Cond C
	Args []any
}

// RenderWhere joins conds with AND in a store's SQL. text[c.Cond] is the SQL
// of a condition, in which %[1]s, %[2]s... stand for its arguments; mark(n)
// writes the statement's n-th argument (from 1) in the store's syntax. args
// are the statement's arguments before the conditions'; RenderWhere returns
// them with the conditions' appended.
func RenderWhere[C ~int](text []string, conds []Where[C], args []any, mark func(int) string) (string, []any) {
	var b strings.Builder
	marks := make([]any, 0, 2)
	for i, c := range conds {
		if i > 0 {
			b.WriteString(" AND ")
		}
		marks = marks[:0]
		for _, v := range c.Args {
			args = append(args, v)
			marks = append(marks, mark(len(args)))
		}
		if len(marks) == 0 {
			b.WriteString(text[c.Cond])
		} else {
			fmt.Fprintf(&b, text[c.Cond], marks...)
		}
	}
	return b.String(), args
}
