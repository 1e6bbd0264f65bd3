/* Manifest documents built straight from libyaml's events, in C (see gatekeeper/yamlevents.py).
 *
 * yamlevents._build_all does this in Python, one step per event PyYAML's binding makes (a
 * tuple or list and two marks each): read() does the same steps without those objects, and
 * returns what _build_all keeps, or says the Python reader must decide.
 *
 * The parser is PyYAML's own libyaml: its functions are taken from the loaded yaml._yaml
 * module (use()), not linked, so every event, mark and error is the one PyYAML's binding
 * sees, whichever libyaml it bundles or links (the system's may be another release: 0.2.5
 * where PyYAML's wheels carry 0.2.6, which stops nesting at 1000 and reads `[?]` otherwise).
 * Only yaml.h is needed to build this file.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>

typedef int (*parser_initialize_f)(yaml_parser_t *);
typedef void (*parser_delete_f)(yaml_parser_t *);
typedef void (*parser_set_input_string_f)(yaml_parser_t *, const unsigned char *, size_t);
typedef int (*parser_parse_f)(yaml_parser_t *, yaml_event_t *);
typedef void (*event_delete_f)(yaml_event_t *);
typedef void (*get_version_f)(int *, int *, int *);

static parser_initialize_f parser_initialize;
static parser_delete_f parser_delete;
static parser_set_input_string_f parser_set_input_string;
static parser_parse_f parser_parse;
static event_delete_f event_delete;
static int version[3] = {-1, -1, -1};

/* use(path): take libyaml's functions from the shared object at `path` (PyYAML's yaml._yaml,
 * already loaded). True when all were found and the library is a 0.2 release (the ABI of the
 * yaml.h this was built with); False leaves the reader unusable. */
static PyObject *
use(PyObject *self, PyObject *args)
{
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    void *library = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    if (library == NULL)
        Py_RETURN_FALSE;
    get_version_f get_version = (get_version_f)dlsym(library, "yaml_get_version");
    parser_initialize = (parser_initialize_f)dlsym(library, "yaml_parser_initialize");
    parser_delete = (parser_delete_f)dlsym(library, "yaml_parser_delete");
    parser_set_input_string =
        (parser_set_input_string_f)dlsym(library, "yaml_parser_set_input_string");
    parser_parse = (parser_parse_f)dlsym(library, "yaml_parser_parse");
    event_delete = (event_delete_f)dlsym(library, "yaml_event_delete");
    /* (the handle stays open: the module it belongs to is never unloaded) */
    if (get_version == NULL || parser_initialize == NULL || parser_delete == NULL
        || parser_set_input_string == NULL || parser_parse == NULL || event_delete == NULL) {
        parser_parse = NULL;
        Py_RETURN_FALSE;
    }
    get_version(&version[0], &version[1], &version[2]);
    if (version[0] != 0 || version[1] != 2) {
        parser_parse = NULL;
        Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

/* libyaml's version as read by use(), or None before. */
static PyObject *
libyaml_version(PyObject *self, PyObject *unused)
{
    if (parser_parse == NULL)
        Py_RETURN_NONE;
    return Py_BuildValue("(iii)", version[0], version[1], version[2]);
}

/* One open collection: its value, whether it is a list, its number in document order. */
typedef struct {
    PyObject *value; /* borrowed: its parent (or the document) holds it */
    int in_list;
    Py_ssize_t place;
} Open;

/* One document being read. */
typedef struct {
    int64_t *offsets; /* where each node starts and ends, in document order */
    Py_ssize_t used, allocated;
    PyObject *sizes;  /* collection (its number) -> nodes it spans */
    PyObject *at_end; /* collection -> (line, column) of its end, for those ending the text */
    PyObject *root;
} Document;

enum outcome { BUILT, COMPOSED, PYTHON, FAILED };

static int
push_offsets(Document *document, int64_t start, int64_t end)
{
    if (document->used + 2 > document->allocated) {
        Py_ssize_t allocated = document->allocated ? 2 * document->allocated : 256;
        int64_t *grown = PyMem_Realloc(document->offsets, allocated * sizeof(int64_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        document->offsets = grown;
        document->allocated = allocated;
    }
    document->offsets[document->used++] = start;
    document->offsets[document->used++] = end;
    return 0;
}

static int
start_document(Document *document)
{
    document->used = 0;
    document->root = NULL;
    document->sizes = PyDict_New();
    document->at_end = PyDict_New();
    return document->sizes != NULL && document->at_end != NULL ? 0 : -1;
}

static void
clear_document(Document *document)
{
    Py_CLEAR(document->sizes);
    Py_CLEAR(document->at_end);
    Py_CLEAR(document->root);
}

/* A plain scalar's value: `plain[text]` (yamlevents._PLAIN: yamldoc's resolution, its
 * table looked up first without a call). New reference. */
static PyObject *
resolved(PyObject *plain, PyObject *text)
{
    PyObject *known = PyDict_GetItemWithError(plain, text);
    if (known != NULL) {
        Py_INCREF(known);
        return known;
    }
    if (PyErr_Occurred())
        return NULL;
    return PyObject_GetItem(plain, text);
}

/* Put `value` (a new reference, stolen) where the open collection takes its next node.
 * `key` is the mapping's key waiting for its value (stolen, cleared). */
static enum outcome
place_value(Document *document, Open *open, PyObject **key, PyObject *value)
{
    int failed;
    if (open == NULL) {
        if (document->root != NULL) {
            Py_DECREF(value);
            return PYTHON; /* (never: a document has one root) */
        }
        document->root = value;
        return BUILT;
    }
    if (open->in_list) {
        failed = PyList_Append(open->value, value);
    } else {
        failed = PyDict_SetItem(open->value, *key, value);
        Py_CLEAR(*key);
    }
    Py_DECREF(value);
    return failed ? FAILED : BUILT;
}

static enum outcome
read_events(yaml_parser_t *parser, PyObject *plain, Py_ssize_t max_depth, size_t length,
            PyObject *documents)
{
    yaml_event_t event;
    Document document = {0};
    Open *stack = PyMem_Malloc((max_depth + 1) * sizeof(Open));
    Py_ssize_t depth = 0; /* open collections: stack[depth - 1] is the innermost */
    PyObject *key = NULL;  /* in a mapping: the key whose value comes next */
    enum outcome outcome = BUILT;
    if (stack == NULL) {
        PyErr_NoMemory();
        return FAILED;
    }
    if (start_document(&document) < 0) {
        outcome = FAILED;
        goto done;
    }
    for (;;) {
        if (!parser_parse(parser, &event)) {
            outcome = PYTHON; /* the Python reader reports where and why, as it does */
            break;
        }
        Open *open = depth ? &stack[depth - 1] : NULL;
        switch (event.type) {
        case YAML_SCALAR_EVENT: {
            if (event.data.scalar.tag != NULL || event.data.scalar.anchor != NULL) {
                outcome = COMPOSED;
                break;
            }
            PyObject *value = PyUnicode_DecodeUTF8(
                (const char *)event.data.scalar.value, (Py_ssize_t)event.data.scalar.length,
                "strict");
            if (value == NULL) {
                outcome = FAILED;
                break;
            }
            if (event.data.scalar.plain_implicit == 1) {
                PyObject *plain_value = resolved(plain, value);
                Py_DECREF(value);
                if (plain_value == NULL) {
                    outcome = FAILED;
                    break;
                }
                value = plain_value;
            }
            int64_t start = (int64_t)event.start_mark.index;
            if (open != NULL && !open->in_list && key == NULL) {
                int set_twice = 0;
                if (PyUnicode_CheckExact(value)) {
                    set_twice = PyDict_Contains(open->value, value);
                    if (set_twice < 0) {
                        Py_DECREF(value);
                        outcome = FAILED;
                        break;
                    }
                }
                if (!PyUnicode_CheckExact(value) || set_twice
                    || PyUnicode_CompareWithASCIIString(value, "<<") == 0) {
                    Py_DECREF(value); /* not a string, maybe a merge key, or set twice */
                    outcome = COMPOSED;
                    break;
                }
                key = value;
                /* a key's end: never asked (a path's end is its value's) */
                if (push_offsets(&document, start, 0) < 0)
                    outcome = FAILED;
                break;
            }
            outcome = place_value(&document, open, &key, value);
            if (outcome == BUILT
                && push_offsets(&document, start, (int64_t)event.end_mark.index) < 0)
                outcome = FAILED;
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            int is_list = event.type == YAML_SEQUENCE_START_EVENT;
            yaml_char_t *tag = is_list ? event.data.sequence_start.tag
                                       : event.data.mapping_start.tag;
            yaml_char_t *anchor = is_list ? event.data.sequence_start.anchor
                                          : event.data.mapping_start.anchor;
            if (tag != NULL || anchor != NULL || depth >= max_depth
                || (open != NULL && !open->in_list && key == NULL)) {
                outcome = COMPOSED; /* tagged, anchored, too deep (yamldoc says where), a key */
                break;
            }
            PyObject *value = is_list ? PyList_New(0) : PyDict_New();
            if (value == NULL) {
                outcome = FAILED;
                break;
            }
            outcome = place_value(&document, open, &key, value);
            if (outcome != BUILT)
                break;
            stack[depth].value = value; /* (borrowed: its parent or the document holds it) */
            stack[depth].in_list = is_list;
            stack[depth].place = document.used >> 1;
            depth++;
            /* its end, once met */
            if (push_offsets(&document, (int64_t)event.start_mark.index, 0) < 0)
                outcome = FAILED;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            if (open == NULL) {
                outcome = PYTHON; /* (never) */
                break;
            }
            Py_ssize_t place = open->place;
            depth--;
            Py_CLEAR(key); /* (none waits: a mapping above waits for its next key) */
            PyObject *at = PyLong_FromSsize_t(place);
            PyObject *size = PyLong_FromSsize_t((document.used >> 1) - place);
            int failed = at == NULL || size == NULL
                         || PyDict_SetItem(document.sizes, at, size) < 0;
            Py_XDECREF(size);
            document.offsets[2 * place + 1] = (int64_t)event.end_mark.index;
            if (!failed && event.end_mark.index == length) {
                PyObject *end = Py_BuildValue(
                    "(nn)", (Py_ssize_t)event.end_mark.line, (Py_ssize_t)event.end_mark.column);
                failed = end == NULL || PyDict_SetItem(document.at_end, at, end) < 0;
                Py_XDECREF(end);
            }
            Py_XDECREF(at);
            if (failed)
                outcome = FAILED;
            break;
        }
        case YAML_DOCUMENT_END_EVENT: {
            if (document.root == NULL || depth != 0) {
                outcome = PYTHON; /* (never) */
                break;
            }
            PyObject *offsets = PyBytes_FromStringAndSize(
                (const char *)document.offsets, document.used * (Py_ssize_t)sizeof(int64_t));
            PyObject *entry = offsets == NULL ? NULL
                                              : PyTuple_Pack(4, document.root, offsets,
                                                             document.sizes, document.at_end);
            Py_XDECREF(offsets);
            if (entry == NULL || PyList_Append(documents, entry) < 0) {
                Py_XDECREF(entry);
                outcome = FAILED;
                break;
            }
            Py_DECREF(entry);
            clear_document(&document);
            if (start_document(&document) < 0)
                outcome = FAILED;
            break;
        }
        case YAML_ALIAS_EVENT:
            outcome = COMPOSED;
            break;
        case YAML_STREAM_END_EVENT:
            event_delete(&event);
            goto done;
        default: /* the stream's and each document's start */
            break;
        }
        event_delete(&event);
        if (outcome != BUILT)
            break;
    }
done:
    Py_XDECREF(key);
    clear_document(&document);
    PyMem_Free(document.offsets);
    PyMem_Free(stack);
    return outcome;
}

/* read(text, plain, max_depth): each document of `text` as (value, offsets as int64 bytes,
 * sizes, at_end), as yamlevents._build_all keeps them; None when the text needs the composer
 * (a tag, an anchor, an alias, a key that is not a string, `<<`, a key set twice, a
 * collection as a key, nesting deeper than max_depth); False when the Python reader must
 * read it (the parser stopped: it reports where). An exception `plain` raises propagates. */
static PyObject *
read_text(PyObject *self, PyObject *args)
{
    PyObject *text, *plain;
    Py_ssize_t max_depth;
    if (!PyArg_ParseTuple(args, "UO!n", &text, &PyDict_Type, &plain, &max_depth))
        return NULL;
    if (parser_parse == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "libyaml's functions are not taken yet (use())");
        return NULL;
    }
    if (max_depth < 0)
        max_depth = 0;
    /* As PyYAML's binding gives a str to libyaml: its UTF-8 (an ASCII str's own bytes). */
    PyObject *encoded = NULL;
    const char *bytes;
    Py_ssize_t size;
    if (PyUnicode_IS_ASCII(text)) {
        bytes = PyUnicode_AsUTF8AndSize(text, &size);
    } else {
        encoded = PyUnicode_AsUTF8String(text);
        if (encoded == NULL) {
            PyErr_Clear();
            Py_RETURN_FALSE; /* (the Python reader meets the same error) */
        }
        bytes = PyBytes_AS_STRING(encoded);
        size = PyBytes_GET_SIZE(encoded);
    }
    if (bytes == NULL) {
        Py_XDECREF(encoded);
        return NULL;
    }
    PyObject *documents = PyList_New(0);
    if (documents == NULL) {
        Py_XDECREF(encoded);
        return NULL;
    }
    yaml_parser_t parser;
    if (!parser_initialize(&parser)) {
        Py_DECREF(documents);
        Py_XDECREF(encoded);
        return PyErr_NoMemory();
    }
    parser_set_input_string(&parser, (const unsigned char *)bytes, (size_t)size);
    enum outcome outcome = read_events(
        &parser, plain, max_depth, (size_t)PyUnicode_GET_LENGTH(text), documents);
    parser_delete(&parser);
    Py_XDECREF(encoded);
    switch (outcome) {
    case BUILT:
        return documents;
    case COMPOSED:
        Py_DECREF(documents);
        Py_RETURN_NONE;
    case PYTHON:
        Py_DECREF(documents);
        Py_RETURN_FALSE;
    default:
        Py_DECREF(documents);
        return NULL;
    }
}

static PyMethodDef methods[] = {
    {"use", use, METH_VARARGS, "Take libyaml's functions from PyYAML's loaded binding."},
    {"libyaml_version", libyaml_version, METH_NOARGS, "The libyaml in use, or None."},
    {"read", read_text, METH_VARARGS, "A text's documents as yamlevents keeps them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "gatekeeper._manifest_reader",
    "Manifest documents built from libyaml's events in C (see gatekeeper.yamlevents).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__manifest_reader(void)
{
    return PyModule_Create(&module);
}
