/* A 3x3 quantized convolution with PyTorch qnnpack numerics: the smallest complete qk program.
 * Build against an installed qk:  cc conv2d_example.c $(pkg-config --cflags --libs qk)
 * or with CMake: find_package(qk) and target_link_libraries(app qk::qk) (see CMakeLists.txt). */
#include <qk.h>
#include <stdio.h>

int main(void) {
  enum { H = 4, W = 4, C = 2, O = 3 };
  uint8_t input[H * W * C];      /* NHWC, quint8 */
  int8_t weights[O * C * 3 * 3]; /* OIHW, qint8 */
  uint8_t output[H * W * O];
  for (int i = 0; i < H * W * C; i++) input[i] = (uint8_t)(100 + i);
  for (int i = 0; i < O * C * 9; i++) weights[i] = (int8_t)(i % 7 - 3);
  const double weight_scale = 0.02;
  const float bias[O] = {0.5f, -0.25f, 1.0f};

  qk_conv2d_desc desc;
  qk_conv2d_desc_init(&desc);
  desc.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  desc.input_channels = C;
  desc.output_channels = O;
  desc.kernel_height = desc.kernel_width = 3;
  desc.padding_top = desc.padding_left = desc.padding_bottom = desc.padding_right = 1;
  desc.input_type = desc.output_type = QK_DTYPE_U8;
  desc.input_scale = 0.05;
  desc.input_zero_point = 128;
  desc.weights = weights;
  desc.weight_scale_count = 1;
  desc.weight_scales = &weight_scale;
  desc.bias_type = QK_DTYPE_F32;
  desc.bias = bias;
  desc.output_scale = 0.1;
  desc.output_zero_point = 120;

  qk_conv2d* conv = NULL;
  qk_status status = qk_conv2d_create(&desc, &conv);
  if (status == QK_SUCCESS) status = qk_conv2d_run(conv, 1, H, W, input, output, NULL);
  if (status != QK_SUCCESS) {
    fprintf(stderr, "qk: %s: %s\n", qk_status_string(status), qk_last_error());
    qk_conv2d_delete(conv);
    return 1;
  }
  printf("qk %s on %s (%s): y[0,0,0,:] = %u %u %u\n", qk_version_string(), qk_conv2d_isa(conv),
         qk_conv2d_ukernels(conv), output[0], output[1], output[2]);
  qk_conv2d_delete(conv);
  return 0;
}
