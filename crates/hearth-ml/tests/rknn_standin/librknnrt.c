/* A stand-in for Rockchip's librknnrt.so, built by hearth-ml's tests (tests/npu.rs) to prove the
 * dlopen path end to end on any machine: the handful of RKNPU2 functions Hearth calls, with
 * rknn_api.h's struct layouts, returning tensors the test can predict.
 *
 * Its "converted model" is text:
 *   HEARTH-STANDIN-RKNN
 *   input N C H W
 *   output NAME D1 D2 ...        (one line per output, at most 8)
 * Output k's element i is (k + 1) * mean(input) + i. Anything else is refused as RKNN refuses a
 * bad model (RKNN_ERR_MODEL_INVALID). A query with a struct of the wrong size is refused
 * (RKNN_ERR_PARAM_INVALID), so the caller's layouts are checked against this header's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RKNN_MAX_DIMS 16
#define RKNN_MAX_NAME_LEN 256
#define RKNN_ERR_FAIL -1
#define RKNN_ERR_PARAM_INVALID -5
#define RKNN_ERR_MODEL_INVALID -6
#define RKNN_ERR_CTX_INVALID -7
#define RKNN_ERR_INPUT_INVALID -8
#define MAX_OUTPUTS 8

typedef uint64_t rknn_context;
typedef enum { RKNN_QUERY_IN_OUT_NUM = 0, RKNN_QUERY_INPUT_ATTR = 1, RKNN_QUERY_OUTPUT_ATTR = 2 } rknn_query_cmd;
typedef enum { RKNN_TENSOR_FLOAT32 = 0, RKNN_TENSOR_FLOAT16, RKNN_TENSOR_INT8, RKNN_TENSOR_UINT8 } rknn_tensor_type;
typedef enum { RKNN_TENSOR_NCHW = 0, RKNN_TENSOR_NHWC } rknn_tensor_format;
typedef enum { RKNN_TENSOR_QNT_NONE = 0 } rknn_tensor_qnt_type;

typedef struct { uint32_t n_input; uint32_t n_output; } rknn_input_output_num;

typedef struct {
    uint32_t index;
    uint32_t n_dims;
    uint32_t dims[RKNN_MAX_DIMS];
    char name[RKNN_MAX_NAME_LEN];
    uint32_t n_elems;
    uint32_t size;
    rknn_tensor_format fmt;
    rknn_tensor_type type;
    rknn_tensor_qnt_type qnt_type;
    int8_t fl;
    int32_t zp;
    float scale;
    uint32_t w_stride;
    uint32_t size_with_stride;
    uint8_t pass_through;
    uint32_t h_stride;
} rknn_tensor_attr;

typedef struct {
    uint32_t index;
    void *buf;
    uint32_t size;
    uint8_t pass_through;
    rknn_tensor_type type;
    rknn_tensor_format fmt;
} rknn_input;

typedef struct {
    uint8_t want_float;
    uint8_t is_prealloc;
    uint32_t index;
    void *buf;
    uint32_t size;
} rknn_output;

struct output { char name[RKNN_MAX_NAME_LEN]; uint32_t n_dims; uint32_t dims[RKNN_MAX_DIMS]; uint32_t n_elems; };
struct model {
    uint32_t input[4];
    uint32_t n_outputs;
    struct output outputs[MAX_OUTPUTS];
    float mean;
    int has_input, ran;
};

static uint32_t elements(const uint32_t *dims, uint32_t n) {
    uint64_t e = 1;
    for (uint32_t i = 0; i < n; i++) e *= dims[i];
    return e > 0xffffffu ? 0 : (uint32_t)e;
}

int rknn_init(rknn_context *context, void *data, uint32_t size, uint32_t flag, void *extend) {
    (void)flag;
    (void)extend;
    if (!context || !data || size == 0 || size > 65536) return RKNN_ERR_PARAM_INVALID;
    char *text = malloc(size + 1);
    if (!text) return RKNN_ERR_FAIL;
    memcpy(text, data, size);
    text[size] = 0;
    struct model *m = calloc(1, sizeof *m);
    if (!m) { free(text); return RKNN_ERR_FAIL; }
    int ok = strncmp(text, "HEARTH-STANDIN-RKNN\n", 20) == 0, inputs = 0;
    for (char *line = strtok(text + 20, "\n"); ok && line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "input ", 6) == 0) {
            ok = sscanf(line + 6, "%u %u %u %u", &m->input[0], &m->input[1], &m->input[2], &m->input[3]) == 4 && elements(m->input, 4) > 0;
            inputs++;
        } else if (strncmp(line, "output ", 7) == 0 && m->n_outputs < MAX_OUTPUTS) {
            struct output *o = &m->outputs[m->n_outputs++];
            char *rest = line + 7, *space = strchr(rest, ' ');
            ok = space && space - rest < RKNN_MAX_NAME_LEN;
            if (!ok) break;
            memcpy(o->name, rest, space - rest);
            for (char *d = strtok_r(space + 1, " ", &rest); d && o->n_dims < RKNN_MAX_DIMS; d = strtok_r(NULL, " ", &rest))
                o->dims[o->n_dims++] = (uint32_t)strtoul(d, NULL, 10);
            o->n_elems = elements(o->dims, o->n_dims);
            ok = o->n_dims > 0 && o->n_elems > 0;
        } else {
            ok = 0;
        }
    }
    free(text);
    if (!ok || inputs != 1 || m->n_outputs == 0) { free(m); return RKNN_ERR_MODEL_INVALID; }
    *context = (rknn_context)(uintptr_t)m;
    return 0;
}

int rknn_destroy(rknn_context context) {
    if (!context) return RKNN_ERR_CTX_INVALID;
    free((struct model *)(uintptr_t)context);
    return 0;
}

int rknn_query(rknn_context context, rknn_query_cmd cmd, void *info, uint32_t size) {
    struct model *m = (struct model *)(uintptr_t)context;
    if (!m || !info) return RKNN_ERR_CTX_INVALID;
    if (cmd == RKNN_QUERY_IN_OUT_NUM) {
        if (size != sizeof(rknn_input_output_num)) return RKNN_ERR_PARAM_INVALID;
        rknn_input_output_num *n = info;
        n->n_input = 1;
        n->n_output = m->n_outputs;
        return 0;
    }
    if (size != sizeof(rknn_tensor_attr)) return RKNN_ERR_PARAM_INVALID;
    rknn_tensor_attr *a = info;
    uint32_t index = a->index;
    memset(a, 0, sizeof *a);
    a->index = index;
    a->type = RKNN_TENSOR_FLOAT32;
    a->scale = 1.0f;
    if (cmd == RKNN_QUERY_INPUT_ATTR && index == 0) {
        a->n_dims = 4;
        memcpy(a->dims, m->input, sizeof m->input);
        strcpy(a->name, "input");
        a->n_elems = elements(m->input, 4);
        a->fmt = RKNN_TENSOR_NCHW;
    } else if (cmd == RKNN_QUERY_OUTPUT_ATTR && index < m->n_outputs) {
        struct output *o = &m->outputs[index];
        a->n_dims = o->n_dims;
        memcpy(a->dims, o->dims, sizeof o->dims);
        memcpy(a->name, o->name, sizeof a->name);
        a->n_elems = o->n_elems;
        a->fmt = RKNN_TENSOR_NCHW;
    } else {
        return RKNN_ERR_PARAM_INVALID;
    }
    a->size = a->n_elems * 4;
    return 0;
}

int rknn_inputs_set(rknn_context context, uint32_t n, rknn_input inputs[]) {
    struct model *m = (struct model *)(uintptr_t)context;
    if (!m) return RKNN_ERR_CTX_INVALID;
    if (n != 1 || inputs[0].index != 0 || inputs[0].type != RKNN_TENSOR_FLOAT32 || inputs[0].pass_through != 0) return RKNN_ERR_INPUT_INVALID;
    uint32_t count = elements(m->input, 4);
    if (inputs[0].size != count * 4 || !inputs[0].buf) return RKNN_ERR_INPUT_INVALID;
    const float *x = inputs[0].buf;
    double sum = 0;
    for (uint32_t i = 0; i < count; i++) sum += x[i];
    m->mean = (float)(sum / count);
    m->has_input = 1;
    return 0;
}

int rknn_run(rknn_context context, void *extend) {
    struct model *m = (struct model *)(uintptr_t)context;
    (void)extend;
    if (!m) return RKNN_ERR_CTX_INVALID;
    if (!m->has_input) return RKNN_ERR_INPUT_INVALID;
    m->ran = 1;
    return 0;
}

int rknn_outputs_get(rknn_context context, uint32_t n, rknn_output outputs[], void *extend) {
    struct model *m = (struct model *)(uintptr_t)context;
    (void)extend;
    if (!m) return RKNN_ERR_CTX_INVALID;
    if (!m->ran || n != m->n_outputs) return RKNN_ERR_PARAM_INVALID;
    for (uint32_t k = 0; k < n; k++) {
        if (outputs[k].is_prealloc || !outputs[k].want_float || outputs[k].index != k) return RKNN_ERR_PARAM_INVALID;
        uint32_t count = m->outputs[k].n_elems;
        float *values = malloc((size_t)count * 4);
        if (!values) return RKNN_ERR_FAIL;
        for (uint32_t i = 0; i < count; i++) values[i] = (float)(k + 1) * m->mean + (float)i;
        outputs[k].buf = values;
        outputs[k].size = count * 4;
    }
    return 0;
}

int rknn_outputs_release(rknn_context context, uint32_t n, rknn_output outputs[]) {
    if (!context) return RKNN_ERR_CTX_INVALID;
    for (uint32_t k = 0; k < n; k++) {
        free(outputs[k].buf);
        outputs[k].buf = NULL;
    }
    return 0;
}
