/* pickle.c — see pickle.h.
 *
 * The machine follows Python's Unpickler: a value stack, a stack of MARK
 * positions (a MARK starts a fresh frame that ops may not pop through), and
 * a memo indexed by BINPUT/MEMOIZE.  Values are shared by pointer, as in
 * Python, so a SETITEMS on a memoized dict is seen by every reference.
 */
#include "pickle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/error.h"

/* A GLOBAL's "module\nname\n" longer than this is refused before parsing. */
#define MAX_GLOBAL_LINE 256

struct mc_pickle {
  mc_py_value *root;
  mc_py_value *allocated;    /* every value, chained through next_allocated */
};

typedef struct {
  const uint8_t *data;
  size_t size, pos;
  size_t op_offset;          /* where the current opcode starts */
  uint8_t op;
  const char *what;
  mc_error *err;
  mc_pickle *pickle;
  mc_py_value **stack;
  size_t depth, stack_capacity;
  size_t *marks;             /* stack depth at each open MARK */
  size_t n_marks, marks_capacity;
  mc_py_value **memo;        /* NULL where unset */
  size_t memo_capacity, memo_count;
} machine;

/* Opcode bytes (Python's pickletools names). */
enum {
  OP_MARK = '(', OP_STOP = '.', OP_BININT = 'J', OP_BININT1 = 'K', OP_BININT2 = 'M',
  OP_NONE = 'N', OP_BINPERSID = 'Q', OP_REDUCE = 'R', OP_BINSTRING = 'T',
  OP_SHORT_BINSTRING = 'U', OP_BINUNICODE = 'X', OP_APPEND = 'a', OP_BUILD = 'b',
  OP_GLOBAL = 'c', OP_EMPTY_DICT = '}', OP_APPENDS = 'e', OP_BINGET = 'h',
  OP_LONG_BINGET = 'j', OP_EMPTY_LIST = ']', OP_BINPUT = 'q', OP_LONG_BINPUT = 'r',
  OP_SETITEM = 's', OP_TUPLE = 't', OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u',
  OP_BINFLOAT = 'G', OP_PROTO = 0x80, OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86,
  OP_TUPLE3 = 0x87, OP_NEWTRUE = 0x88, OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a,
  OP_SHORT_BINUNICODE = 0x8c, OP_MEMOIZE = 0x94, OP_FRAME = 0x95,
};

/* Names of every opcode up to protocol 5, so that an unsupported one is
 * reported by name. */
static const char *
opcode_name (uint8_t op)
{
  switch (op) {
    case '(': return "MARK";            case '.': return "STOP";
    case '0': return "POP";             case '1': return "POP_MARK";
    case '2': return "DUP";             case 'F': return "FLOAT";
    case 'I': return "INT";             case 'J': return "BININT";
    case 'K': return "BININT1";         case 'L': return "LONG";
    case 'M': return "BININT2";         case 'N': return "NONE";
    case 'P': return "PERSID";          case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";          case 'S': return "STRING";
    case 'T': return "BINSTRING";       case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";         case 'X': return "BINUNICODE";
    case 'a': return "APPEND";          case 'b': return "BUILD";
    case 'c': return "GLOBAL";          case 'd': return "DICT";
    case '}': return "EMPTY_DICT";      case 'e': return "APPENDS";
    case 'g': return "GET";             case 'h': return "BINGET";
    case 'i': return "INST";            case 'j': return "LONG_BINGET";
    case 'l': return "LIST";            case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";             case 'p': return "PUT";
    case 'q': return "BINPUT";          case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";         case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";     case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";        case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";  case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";         case 0x82: return "EXT1";
    case 0x83: return "EXT2";           case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";         case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";         case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";       case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";          case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";      case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";      case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";   case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";          case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";    case 0x98: return "READONLY_BUFFER";
  }
  return NULL;
}

const char *
mc_py_type_name (mc_py_type type)
{
  switch (type) {
    case MC_PY_NONE: return "None";
    case MC_PY_BOOL: return "bool";
    case MC_PY_INT: return "int";
    case MC_PY_FLOAT: return "float";
    case MC_PY_STR: return "str";
    case MC_PY_TUPLE: return "tuple";
    case MC_PY_LIST: return "list";
    case MC_PY_DICT: return "dict";
    case MC_PY_GLOBAL: return "global";
    case MC_PY_STORAGE: return "storage";
    case MC_PY_TENSOR: return "tensor";
  }
  return "?";
}

/* Reports an error at the current opcode and returns MC_ERR_FORMAT. */
static mc_status __attribute__ ((format (printf, 3, 4)))
fail_with (machine *m, mc_status code, const char *fmt, ...)
{
  char msg[MC_ERROR_MESSAGE_SIZE];
  const char *name = opcode_name (m->op);
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (name)
    return mc_err (m->err, code, "%s: pickle %s at byte %zu: %s", m->what, name,
        m->op_offset, msg);
  return mc_err (m->err, code, "%s: pickle opcode 0x%02x at byte %zu: %s", m->what,
      m->op, m->op_offset, msg);
}

#define fail(m, ...) fail_with (m, MC_ERR_FORMAT, __VA_ARGS__)

static mc_py_value *
new_value (machine *m, mc_py_type type)
{
  mc_py_value *v = calloc (1, sizeof *v);
  if (!v)
    return NULL;
  v->type = type;
  v->next_allocated = m->pickle->allocated;
  m->pickle->allocated = v;
  return v;
}

static mc_status
out_of_memory (machine *m)
{
  return mc_err (m->err, MC_ERR_NOMEM, "%s: out of memory while reading the pickle", m->what);
}

static int
grow (void **array, size_t *capacity, size_t needed, size_t item_size)
{
  size_t cap = *capacity ? *capacity : 16;
  void *n;
  if (needed <= *capacity)
    return 1;
  while (cap < needed)
    cap *= 2;
  n = realloc (*array, cap * item_size);
  if (!n)
    return 0;
  *array = n;
  *capacity = cap;
  return 1;
}

static mc_status
push (machine *m, mc_py_value *v)
{
  if (!v)
    return out_of_memory (m);
  if (!grow ((void **) &m->stack, &m->stack_capacity, m->depth + 1, sizeof *m->stack))
    return out_of_memory (m);
  m->stack[m->depth++] = v;
  return MC_OK;
}

/* The depth below which the current MARK frame may not reach. */
static size_t
frame_base (const machine *m)
{
  return m->n_marks ? m->marks[m->n_marks - 1] : 0;
}

static mc_status
pop (machine *m, mc_py_value **out)
{
  if (m->depth <= frame_base (m))
    return fail (m, "stack underflow");
  *out = m->stack[--m->depth];
  return MC_OK;
}

static mc_status
peek (machine *m, mc_py_value **out)
{
  if (m->depth <= frame_base (m))
    return fail (m, "stack underflow");
  *out = m->stack[m->depth - 1];
  return MC_OK;
}

/* Closes the innermost MARK: its items are stack[*first .. depth). */
static mc_status
pop_mark (machine *m, size_t *first, size_t *count)
{
  if (m->n_marks == 0)
    return fail (m, "no MARK to close");
  *first = m->marks[--m->n_marks];
  *count = m->depth - *first;
  m->depth = *first;
  return MC_OK;
}

static mc_status
read_bytes (machine *m, size_t n, const uint8_t **out)
{
  if (m->size - m->pos < n)
    return fail (m, "truncated: the pickle ends inside this opcode");
  *out = m->data + m->pos;
  m->pos += n;
  return MC_OK;
}

static uint64_t
le_uint (const uint8_t *p, int n)
{
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static mc_py_value *
new_int (machine *m, int64_t value)
{
  mc_py_value *v = new_value (m, MC_PY_INT);
  if (v)
    v->u.integer = value;
  return v;
}

static mc_py_value *
new_str (machine *m, const uint8_t *chars, size_t len)
{
  mc_py_value *v = new_value (m, MC_PY_STR);
  if (!v)
    return NULL;
  v->u.str.chars = malloc (len + 1);
  if (!v->u.str.chars)
    return NULL;
  memcpy (v->u.str.chars, chars, len);
  v->u.str.chars[len] = '\0';
  v->u.str.len = len;
  return v;
}

/* A tuple of stack[first .. first+count). */
static mc_py_value *
new_tuple (machine *m, mc_py_value *const *items, size_t count)
{
  mc_py_value *v = new_value (m, MC_PY_TUPLE);
  if (!v)
    return NULL;
  if (count) {
    v->u.seq.items = malloc (count * sizeof *items);
    if (!v->u.seq.items)
      return NULL;
    memcpy (v->u.seq.items, items, count * sizeof *items);
  }
  v->u.seq.len = v->u.seq.capacity = count;
  return v;
}

static mc_status
dict_set (machine *m, mc_py_value *dict, mc_py_value *key, mc_py_value *value)
{
  size_t n = dict->u.dict.len, cap = dict->u.dict.capacity;
  if (!grow ((void **) &dict->u.dict.keys, &cap, n + 1, sizeof (mc_py_value *)))
    return out_of_memory (m);
  cap = dict->u.dict.capacity;
  if (!grow ((void **) &dict->u.dict.values, &cap, n + 1, sizeof (mc_py_value *)))
    return out_of_memory (m);
  dict->u.dict.capacity = cap;
  dict->u.dict.keys[n] = key;
  dict->u.dict.values[n] = value;
  dict->u.dict.len = n + 1;
  return MC_OK;
}

static mc_status
list_append (machine *m, mc_py_value *list, mc_py_value *item)
{
  if (!grow ((void **) &list->u.seq.items, &list->u.seq.capacity, list->u.seq.len + 1,
          sizeof (mc_py_value *)))
    return out_of_memory (m);
  list->u.seq.items[list->u.seq.len++] = item;
  return MC_OK;
}

/* --- globals --- */

static const struct {
  const char *name;      /* after "torch." */
  mc_dtype dtype;
} storage_classes[] = {
  { "FloatStorage", MC_DTYPE_F32 }, { "HalfStorage", MC_DTYPE_F16 },
  { "BFloat16Storage", MC_DTYPE_BF16 }, { "DoubleStorage", MC_DTYPE_F64 },
  { "LongStorage", MC_DTYPE_I64 }, { "IntStorage", MC_DTYPE_I32 },
  { "ShortStorage", MC_DTYPE_I16 }, { "CharStorage", MC_DTYPE_I8 },
  { "ByteStorage", MC_DTYPE_U8 }, { "BoolStorage", MC_DTYPE_BOOL },
};

static const char *const storage_full_names[] = {
  "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage",
  "torch.DoubleStorage", "torch.LongStorage", "torch.IntStorage",
  "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage",
};

/* Reads a "\n"-terminated line of the GLOBAL argument into buf. */
static mc_status
read_line (machine *m, char *buf, size_t buf_size)
{
  size_t avail = m->size - m->pos;
  size_t limit = avail < buf_size ? avail : buf_size;
  const uint8_t *nl = memchr (m->data + m->pos, '\n', limit);
  size_t len;
  if (!nl)
    return fail (m, "%s", avail < buf_size
        ? "truncated: the pickle ends inside the global's name" : "global name too long");
  len = (size_t) (nl - (m->data + m->pos));
  if (memchr (m->data + m->pos, 0, len))
    return fail (m, "global name contains a NUL byte");
  memcpy (buf, m->data + m->pos, len);
  buf[len] = '\0';
  m->pos += len + 1;
  return MC_OK;
}

static mc_status
op_global (machine *m)
{
  char module[MAX_GLOBAL_LINE], name[MAX_GLOBAL_LINE];
  mc_py_value *v;
  mc_status st;

  if ((st = read_line (m, module, sizeof module)) != MC_OK
      || (st = read_line (m, name, sizeof name)) != MC_OK)
    return st;
  v = new_value (m, MC_PY_GLOBAL);
  if (!v)
    return out_of_memory (m);
  if (!strcmp (module, "torch._utils") && !strcmp (name, "_rebuild_tensor_v2")) {
    v->u.global.which = MC_PY_GLOBAL_REBUILD_TENSOR_V2;
    v->u.global.name = "torch._utils._rebuild_tensor_v2";
  } else if (!strcmp (module, "torch._utils") && !strcmp (name, "_rebuild_parameter")) {
    v->u.global.which = MC_PY_GLOBAL_REBUILD_PARAMETER;
    v->u.global.name = "torch._utils._rebuild_parameter";
  } else if (!strcmp (module, "collections") && !strcmp (name, "OrderedDict")) {
    v->u.global.which = MC_PY_GLOBAL_ORDERED_DICT;
    v->u.global.name = "collections.OrderedDict";
  } else {
    size_t i, n = sizeof storage_classes / sizeof storage_classes[0];
    for (i = 0; i < n; i++)
      if (!strcmp (module, "torch") && !strcmp (name, storage_classes[i].name))
        break;
    if (i == n)
      return fail (m, "global '%s %s' is not allowed (only torch tensor rebuilds, "
          "torch.*Storage and collections.OrderedDict are accepted; nothing is executed)",
          module, name);
    v->u.global.which = MC_PY_GLOBAL_STORAGE_CLASS;
    v->u.global.dtype = storage_classes[i].dtype;
    v->u.global.name = storage_full_names[i];
  }
  return push (m, v);
}

static int
is_int (const mc_py_value *v)
{
  return v->type == MC_PY_INT || v->type == MC_PY_BOOL;
}

/* size or stride: a tuple of non-negative ints. */
static mc_status
int_tuple (machine *m, const mc_py_value *t, const char *what, int64_t *out, int *n)
{
  if (t->type != MC_PY_TUPLE)
    return fail (m, "_rebuild_tensor_v2: %s is a %s, not a tuple", what,
        mc_py_type_name (t->type));
  if (t->u.seq.len > MC_MAX_DIMS)
    return fail_with (m, MC_ERR_UNSUPPORTED, "_rebuild_tensor_v2: %zu dimensions (at most %d)",
        t->u.seq.len, MC_MAX_DIMS);
  for (size_t i = 0; i < t->u.seq.len; i++) {
    const mc_py_value *x = t->u.seq.items[i];
    if (!is_int (x) || x->u.integer < 0)
      return fail (m, "_rebuild_tensor_v2: %s[%zu] is not a non-negative int", what, i);
    out[i] = x->u.integer;
  }
  *n = (int) t->u.seq.len;
  return MC_OK;
}

static mc_status
rebuild_tensor (machine *m, const mc_py_value *args)
{
  mc_py_value *const *a = args->u.seq.items;
  mc_py_value *v;
  int ndim_stride;
  mc_status st;

  /* (storage, storage_offset, size, stride, requires_grad, backward_hooks
   *  [, metadata]) — newer torch versions add the optional metadata */
  if (args->u.seq.len != 6 && args->u.seq.len != 7)
    return fail (m, "_rebuild_tensor_v2 takes 6 or 7 arguments, got %zu", args->u.seq.len);
  if (a[0]->type != MC_PY_STORAGE)
    return fail (m, "_rebuild_tensor_v2: the first argument is a %s, not a storage",
        mc_py_type_name (a[0]->type));
  if (!is_int (a[1]) || a[1]->u.integer < 0)
    return fail (m, "_rebuild_tensor_v2: invalid storage offset");
  if (!is_int (a[4]))
    return fail (m, "_rebuild_tensor_v2: requires_grad is a %s", mc_py_type_name (a[4]->type));
  if (a[5]->type != MC_PY_DICT)
    return fail (m, "_rebuild_tensor_v2: backward_hooks is a %s", mc_py_type_name (a[5]->type));
  if (args->u.seq.len == 7 && a[6]->type != MC_PY_NONE && a[6]->type != MC_PY_DICT)
    return fail (m, "_rebuild_tensor_v2: metadata is a %s", mc_py_type_name (a[6]->type));

  v = new_value (m, MC_PY_TENSOR);
  if (!v)
    return out_of_memory (m);
  v->u.tensor.storage = a[0];
  v->u.tensor.offset = a[1]->u.integer;
  v->u.tensor.requires_grad = a[4]->u.integer != 0;
  if ((st = int_tuple (m, a[2], "size", v->u.tensor.size, &v->u.tensor.ndim)) != MC_OK
      || (st = int_tuple (m, a[3], "stride", v->u.tensor.stride, &ndim_stride)) != MC_OK)
    return st;
  if (ndim_stride != v->u.tensor.ndim)
    return fail (m, "_rebuild_tensor_v2: size has %d dimensions but stride %d",
        v->u.tensor.ndim, ndim_stride);
  return push (m, v);
}

static mc_status
op_reduce (machine *m)
{
  mc_py_value *args = NULL, *callable = NULL, *v;
  mc_status st;

  if ((st = pop (m, &args)) != MC_OK || (st = pop (m, &callable)) != MC_OK)
    return st;
  if (callable->type != MC_PY_GLOBAL)
    return fail (m, "cannot call a %s", mc_py_type_name (callable->type));
  if (args->type != MC_PY_TUPLE)
    return fail (m, "the arguments of %s are a %s, not a tuple", callable->u.global.name,
        mc_py_type_name (args->type));
  switch (callable->u.global.which) {
    case MC_PY_GLOBAL_REBUILD_TENSOR_V2:
      return rebuild_tensor (m, args);
    case MC_PY_GLOBAL_REBUILD_PARAMETER:
      /* (data, requires_grad, backward_hooks): the parameter is its tensor */
      if (args->u.seq.len != 3 || args->u.seq.items[0]->type != MC_PY_TENSOR)
        return fail (m, "_rebuild_parameter expects (tensor, requires_grad, backward_hooks)");
      return push (m, args->u.seq.items[0]);
    case MC_PY_GLOBAL_ORDERED_DICT:
      /* pickle fills an OrderedDict with SETITEMS afterwards */
      if (args->u.seq.len != 0)
        return fail (m, "collections.OrderedDict is only accepted with no arguments");
      v = new_value (m, MC_PY_DICT);
      if (v)
        v->u.dict.ordered = 1;
      return push (m, v);
    case MC_PY_GLOBAL_STORAGE_CLASS:
      break;
  }
  return fail (m, "%s cannot be called", callable->u.global.name);
}

/* ('storage', torch.<X>Storage, key, location, numel) */
static mc_status
op_binpersid (machine *m)
{
  mc_py_value *pid = NULL, *const *t, *v;
  mc_status st;

  if ((st = pop (m, &pid)) != MC_OK)
    return st;
  if (pid->type != MC_PY_TUPLE || pid->u.seq.len != 5)
    return fail (m, "persistent id is not a 5-tuple ('storage', type, key, location, numel)");
  t = pid->u.seq.items;
  if (t[0]->type != MC_PY_STR || strcmp (t[0]->u.str.chars, "storage") != 0)
    return fail (m, "persistent id of an unknown kind (only 'storage' is accepted)");
  if (t[1]->type != MC_PY_GLOBAL || t[1]->u.global.which != MC_PY_GLOBAL_STORAGE_CLASS)
    return fail (m, "persistent id: the storage type is not a torch.*Storage class");
  if (t[2]->type != MC_PY_STR || t[2]->u.str.len == 0
      || strlen (t[2]->u.str.chars) != t[2]->u.str.len)
    return fail (m, "persistent id: invalid storage key");
  if (t[3]->type != MC_PY_STR)
    return fail (m, "persistent id: the location is not a string");
  if (!is_int (t[4]) || t[4]->u.integer < 0)
    return fail (m, "persistent id: invalid storage size");
  v = new_value (m, MC_PY_STORAGE);
  if (!v)
    return out_of_memory (m);
  v->u.storage.dtype = t[1]->u.global.dtype;
  v->u.storage.key = t[2]->u.str.chars;
  v->u.storage.location = t[3]->u.str.chars;
  v->u.storage.numel = t[4]->u.integer;
  return push (m, v);
}

static mc_status
memo_put (machine *m, uint64_t index)
{
  mc_py_value *top = NULL;
  mc_status st;

  if ((st = peek (m, &top)) != MC_OK)
    return st;
  /* a real pickle memoizes fewer values than it has bytes */
  if (index >= m->size)
    return fail (m, "memo index %llu is out of range", (unsigned long long) index);
  if (index >= m->memo_capacity) {
    size_t old = m->memo_capacity;
    if (!grow ((void **) &m->memo, &m->memo_capacity, (size_t) index + 1, sizeof *m->memo))
      return out_of_memory (m);
    memset (m->memo + old, 0, (m->memo_capacity - old) * sizeof *m->memo);
  }
  if (!m->memo[index])
    m->memo_count++;
  m->memo[index] = top;
  return MC_OK;
}

static mc_status
memo_get (machine *m, uint64_t index)
{
  if (index >= m->memo_capacity || !m->memo[index])
    return fail (m, "memo index %llu was never set", (unsigned long long) index);
  return push (m, m->memo[index]);
}

static mc_status
read_string (machine *m, int len_bytes, int is_signed)
{
  const uint8_t *p = NULL;
  uint64_t len;
  mc_status st;

  if ((st = read_bytes (m, (size_t) len_bytes, &p)) != MC_OK)
    return st;
  len = le_uint (p, len_bytes);
  if (is_signed && (len & 0x80000000u))
    return fail (m, "negative string length");
  if ((st = read_bytes (m, (size_t) len, &p)) != MC_OK)
    return st;
  return push (m, new_str (m, p, (size_t) len));
}

static mc_status
step (machine *m, int *stopped)
{
  const uint8_t *p = NULL;
  mc_py_value *a = NULL, *b = NULL, *c = NULL;
  size_t first = 0, count = 0;
  mc_status st;

  m->op_offset = m->pos;
  if (m->pos >= m->size)
    return mc_err (m->err, MC_ERR_FORMAT, "%s: truncated: the pickle ends without STOP", m->what);
  m->op = m->data[m->pos++];

  switch (m->op) {
    case OP_PROTO:
      if ((st = read_bytes (m, 1, &p)) != MC_OK)
        return st;
      if (p[0] > 5)
        return fail (m, "pickle protocol %d is newer than any known", p[0]);
      return MC_OK;
    case OP_FRAME:
      /* protocol 4 framing only announces lengths; the opcodes continue */
      if ((st = read_bytes (m, 8, &p)) != MC_OK)
        return st;
      if (le_uint (p, 8) > m->size - m->pos)
        return fail (m, "truncated: the frame runs past the end of the pickle");
      return MC_OK;
    case OP_STOP:
      if ((st = pop (m, &a)) != MC_OK)
        return st;
      m->pickle->root = a;
      *stopped = 1;
      return MC_OK;
    case OP_MARK:
      if (!grow ((void **) &m->marks, &m->marks_capacity, m->n_marks + 1, sizeof *m->marks))
        return out_of_memory (m);
      m->marks[m->n_marks++] = m->depth;
      return MC_OK;

    case OP_NONE:
      return push (m, new_value (m, MC_PY_NONE));
    case OP_NEWTRUE:
    case OP_NEWFALSE:
      a = new_value (m, MC_PY_BOOL);
      if (a)
        a->u.integer = m->op == OP_NEWTRUE;
      return push (m, a);
    case OP_BININT:
      if ((st = read_bytes (m, 4, &p)) != MC_OK)
        return st;
      return push (m, new_int (m, (int32_t) (uint32_t) le_uint (p, 4)));
    case OP_BININT1:
      if ((st = read_bytes (m, 1, &p)) != MC_OK)
        return st;
      return push (m, new_int (m, p[0]));
    case OP_BININT2:
      if ((st = read_bytes (m, 2, &p)) != MC_OK)
        return st;
      return push (m, new_int (m, (int64_t) le_uint (p, 2)));
    case OP_LONG1: {
      /* n little-endian bytes, two's complement */
      uint64_t v;
      int n;
      if ((st = read_bytes (m, 1, &p)) != MC_OK)
        return st;
      n = p[0];
      if (n > 8)
        return fail_with (m, MC_ERR_UNSUPPORTED, "integer of %d bytes does not fit 64 bits", n);
      if ((st = read_bytes (m, (size_t) n, &p)) != MC_OK)
        return st;
      v = le_uint (p, n);
      if (n > 0 && n < 8 && (p[n - 1] & 0x80))
        v |= ~(uint64_t) 0 << (8 * n);
      return push (m, new_int (m, (int64_t) v));
    }
    case OP_BINFLOAT: {
      uint64_t bits = 0;
      if ((st = read_bytes (m, 8, &p)) != MC_OK)
        return st;
      for (int i = 0; i < 8; i++)   /* big-endian */
        bits = (bits << 8) | p[i];
      a = new_value (m, MC_PY_FLOAT);
      if (a)
        memcpy (&a->u.number, &bits, 8);
      return push (m, a);
    }
    case OP_BINUNICODE:
      return read_string (m, 4, 0);
    case OP_SHORT_BINUNICODE:
    case OP_SHORT_BINSTRING:
      return read_string (m, 1, 0);
    case OP_BINSTRING:
      return read_string (m, 4, 1);

    case OP_EMPTY_DICT:
      return push (m, new_value (m, MC_PY_DICT));
    case OP_EMPTY_LIST:
      return push (m, new_value (m, MC_PY_LIST));
    case OP_EMPTY_TUPLE:
      return push (m, new_tuple (m, NULL, 0));
    case OP_TUPLE:
      if ((st = pop_mark (m, &first, &count)) != MC_OK)
        return st;
      return push (m, new_tuple (m, m->stack + first, count));
    case OP_TUPLE1:
    case OP_TUPLE2:
    case OP_TUPLE3:
      count = (size_t) (m->op - OP_TUPLE1 + 1);
      if (m->depth - frame_base (m) < count)
        return fail (m, "stack underflow");
      m->depth -= count;
      return push (m, new_tuple (m, m->stack + m->depth, count));

    case OP_SETITEM:
      if ((st = pop (m, &c)) != MC_OK || (st = pop (m, &b)) != MC_OK
          || (st = peek (m, &a)) != MC_OK)
        return st;
      if (a->type != MC_PY_DICT)
        return fail (m, "target is a %s, not a dict", mc_py_type_name (a->type));
      return dict_set (m, a, b, c);
    case OP_SETITEMS:
      if ((st = pop_mark (m, &first, &count)) != MC_OK || (st = peek (m, &a)) != MC_OK)
        return st;
      if (a->type != MC_PY_DICT)
        return fail (m, "target is a %s, not a dict", mc_py_type_name (a->type));
      if (count % 2)
        return fail (m, "odd number of items (%zu)", count);
      for (size_t i = 0; i < count; i += 2)
        if ((st = dict_set (m, a, m->stack[first + i], m->stack[first + i + 1])) != MC_OK)
          return st;
      return MC_OK;
    case OP_APPEND:
      if ((st = pop (m, &b)) != MC_OK || (st = peek (m, &a)) != MC_OK)
        return st;
      if (a->type != MC_PY_LIST)
        return fail (m, "target is a %s, not a list", mc_py_type_name (a->type));
      return list_append (m, a, b);
    case OP_APPENDS:
      if ((st = pop_mark (m, &first, &count)) != MC_OK || (st = peek (m, &a)) != MC_OK)
        return st;
      if (a->type != MC_PY_LIST)
        return fail (m, "target is a %s, not a list", mc_py_type_name (a->type));
      for (size_t i = 0; i < count; i++)
        if ((st = list_append (m, a, m->stack[first + i])) != MC_OK)
          return st;
      return MC_OK;

    case OP_BINPUT:
      if ((st = read_bytes (m, 1, &p)) != MC_OK)
        return st;
      return memo_put (m, p[0]);
    case OP_LONG_BINPUT:
      if ((st = read_bytes (m, 4, &p)) != MC_OK)
        return st;
      return memo_put (m, le_uint (p, 4));
    case OP_MEMOIZE:
      return memo_put (m, m->memo_count);
    case OP_BINGET:
      if ((st = read_bytes (m, 1, &p)) != MC_OK)
        return st;
      return memo_get (m, p[0]);
    case OP_LONG_BINGET:
      if ((st = read_bytes (m, 4, &p)) != MC_OK)
        return st;
      return memo_get (m, le_uint (p, 4));

    case OP_GLOBAL:
      return op_global (m);
    case OP_REDUCE:
      return op_reduce (m);
    case OP_BINPERSID:
      return op_binpersid (m);
    case OP_BUILD:
      /* the only BUILD torch writes for a state dict sets the OrderedDict's
       * _metadata attribute, which inference does not need */
      if ((st = pop (m, &b)) != MC_OK || (st = peek (m, &a)) != MC_OK)
        return st;
      if (a->type != MC_PY_DICT)
        return fail (m, "BUILD on a %s is not supported (only a dict's state, which is ignored)",
            mc_py_type_name (a->type));
      return MC_OK;
  }
  if (opcode_name (m->op))
    return fail (m, "opcode not supported by this reader");
  return fail (m, "not a pickle opcode");
}

static void
free_values (mc_py_value *v)
{
  while (v) {
    mc_py_value *next = v->next_allocated;
    switch (v->type) {
      case MC_PY_STR: free (v->u.str.chars); break;
      case MC_PY_TUPLE: case MC_PY_LIST: free (v->u.seq.items); break;
      case MC_PY_DICT: free (v->u.dict.keys); free (v->u.dict.values); break;
      default: break;
    }
    free (v);
    v = next;
  }
}

mc_status
mc_pickle_load (const uint8_t *data, size_t size, const char *what, mc_pickle **out,
    mc_error *err)
{
  machine m;
  mc_status st = MC_OK;
  int stopped = 0;

  *out = NULL;
  memset (&m, 0, sizeof m);
  m.data = data;
  m.size = size;
  m.what = what;
  m.err = err;
  m.pickle = calloc (1, sizeof *m.pickle);
  if (!m.pickle)
    return mc_err (err, MC_ERR_NOMEM, "%s: out of memory", what);

  while (!stopped && st == MC_OK)
    st = step (&m, &stopped);

  free (m.stack);
  free (m.marks);
  free (m.memo);
  if (st != MC_OK) {
    mc_pickle_free (m.pickle);
    return st;
  }
  *out = m.pickle;
  return MC_OK;
}

const mc_py_value *
mc_pickle_root (const mc_pickle *pickle)
{
  return pickle->root;
}

const mc_py_value *
mc_py_dict_get (const mc_py_value *dict, const char *key)
{
  const mc_py_value *found = NULL;
  if (dict->type != MC_PY_DICT)
    return NULL;
  /* the last assignment wins, as in Python */
  for (size_t i = 0; i < dict->u.dict.len; i++) {
    const mc_py_value *k = dict->u.dict.keys[i];
    if (k->type == MC_PY_STR && !strcmp (k->u.str.chars, key))
      found = dict->u.dict.values[i];
  }
  return found;
}

void
mc_pickle_free (mc_pickle *pickle)
{
  if (!pickle)
    return;
  free_values (pickle->allocated);
  free (pickle);
}
