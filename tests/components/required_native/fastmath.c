/* A tiny C extension: what a required native dependency looks like to the tracer. */
#include <Python.h>

static PyObject *twice(PyObject *self, PyObject *arg) {
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(2 * n);
}

static PyMethodDef methods[] = {{"twice", twice, METH_O, "2 * n"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "fastmath", NULL, -1, methods};

PyMODINIT_FUNC PyInit_fastmath(void) { return PyModule_Create(&module); }
