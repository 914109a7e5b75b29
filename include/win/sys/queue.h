/*
 * sys/queue.h on Windows, which has none: the LIST macros the tunnel uses
 * (a doubly linked list whose entries point back at the pointer to them,
 * so removal needs no head), with the BSD names and semantics.
 */
#ifndef TUNNEL_WIN_SYS_QUEUE_H
#define TUNNEL_WIN_SYS_QUEUE_H

#define LIST_HEAD(name, type)						\
	struct name {							\
		struct type *lh_first;					\
	}
#define LIST_ENTRY(type)						\
	struct {							\
		struct type *le_next;					\
		struct type **le_prev;					\
	}
#define LIST_INIT(head)		((head)->lh_first = NULL)
#define LIST_FIRST(head)	((head)->lh_first)
#define LIST_EMPTY(head)	((head)->lh_first == NULL)
#define LIST_NEXT(elm, field)	((elm)->field.le_next)
#define LIST_FOREACH(var, head, field)					\
	for ((var) = LIST_FIRST(head); (var) != NULL;			\
	    (var) = LIST_NEXT(var, field))
#define LIST_INSERT_HEAD(head, elm, field) do {				\
	if (((elm)->field.le_next = (head)->lh_first) != NULL)		\
		(head)->lh_first->field.le_prev = &(elm)->field.le_next;\
	(head)->lh_first = (elm);					\
	(elm)->field.le_prev = &(head)->lh_first;			\
} while (0)
#define LIST_REMOVE(elm, field) do {					\
	if ((elm)->field.le_next != NULL)				\
		(elm)->field.le_next->field.le_prev =			\
		    (elm)->field.le_prev;				\
	*(elm)->field.le_prev = (elm)->field.le_next;			\
} while (0)

#endif
