"""Generate keras_golden.npz: tf.keras 2 reference outputs for corten's layers.

Run with an interpreter that has tf_keras installed (corten never imports it):

    TF_CPP_MIN_LOG_LEVEL=3 /path/to/tfkeras/bin/python make_keras_golden.py

For every case the layer is built in tf_keras from (class name, kwargs), given
deterministic weights, run on a seeded input, and its config, weight names and
shapes, weights, input, outputs, masks, moving statistics and
compute_output_shape are stored in one compressed .npz next to this script.
"""

import json
import os
from collections.abc import Mapping, Sequence

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "keras_golden.npz")


def C(name, cls, kwargs, shape, **extra):
    """One case: a layer class name, its kwargs, the input shape (with batch) and options."""
    return dict(name=name, cls=cls, kwargs=kwargs, shape=shape, **extra)


def conv_cases():
    cs = []
    for i, (kw, shape) in enumerate([
        (dict(filters=3, kernel_size=3), (2, 7, 2)),
        (dict(filters=3, kernel_size=3, padding="same"), (2, 7, 2)),
        (dict(filters=3, kernel_size=2, padding="same", strides=2), (2, 8, 2)),
        (dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (2, 7, 2)),
        (dict(filters=4, kernel_size=2, groups=2, activation="relu"), (2, 6, 4)),
        (dict(filters=3, kernel_size=3, strides=2, use_bias=False), (2, 9, 2)),
    ]):
        cs.append(C(f"conv1d_{i}", "Conv1D", kw, shape))
    for i, (kw, shape) in enumerate([
        (dict(filters=3, kernel_size=2, padding="same"), (2, 5, 5, 2)),
        (dict(filters=3, kernel_size=4, padding="same"), (2, 6, 7, 2)),
        (dict(filters=3, kernel_size=2, padding="same", strides=2), (2, 5, 6, 2)),
        (dict(filters=3, kernel_size=4, padding="same", strides=2), (2, 7, 8, 2)),
        (dict(filters=3, kernel_size=3, padding="same", strides=2), (2, 6, 7, 2)),
        (dict(filters=3, kernel_size=(3, 2)), (2, 6, 5, 2)),
        (dict(filters=3, kernel_size=3, dilation_rate=2, padding="same"), (2, 7, 7, 2)),
        (dict(filters=4, kernel_size=3, groups=2, activation="tanh"), (2, 5, 5, 4)),
        (dict(filters=3, kernel_size=3, strides=(2, 1)), (2, 7, 6, 2)),
        (dict(filters=3, kernel_size=3, data_format="channels_first"), (2, 2, 6, 6)),
    ]):
        cs.append(C(f"conv2d_{i}", "Conv2D", kw, shape))
    for i, (kw, shape) in enumerate([
        (dict(filters=2, kernel_size=2), (1, 4, 4, 4, 2)),
        (dict(filters=2, kernel_size=2, padding="same", strides=2), (1, 5, 4, 4, 2)),
        (dict(filters=2, kernel_size=3, padding="same", dilation_rate=2), (1, 5, 5, 4, 2)),
    ]):
        cs.append(C(f"conv3d_{i}", "Conv3D", kw, shape))
    for i, (kw, shape) in enumerate([
        (dict(filters=3, kernel_size=3), (2, 5, 2)),
        (dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 5, 2)),
        (dict(filters=3, kernel_size=3, strides=2, output_padding=1), (2, 5, 2)),
        (dict(filters=3, kernel_size=2, dilation_rate=2, padding="same"), (2, 5, 2)),
    ]):
        cs.append(C(f"conv1dt_{i}", "Conv1DTranspose", kw, shape))
    for i, (kw, shape) in enumerate([
        (dict(filters=3, kernel_size=3), (2, 4, 4, 2)),
        (dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 4, 5, 2)),
        (dict(filters=3, kernel_size=4, strides=2, padding="same"), (2, 4, 4, 2)),
        (dict(filters=3, kernel_size=3, strides=2, output_padding=1), (2, 4, 4, 2)),
        (dict(filters=3, kernel_size=3, strides=(2, 3), padding="same", output_padding=(1, 2)),
         (2, 3, 3, 2)),
        (dict(filters=3, kernel_size=2, dilation_rate=2), (2, 4, 4, 2)),
    ]):
        cs.append(C(f"conv2dt_{i}", "Conv2DTranspose", kw, shape))
    for i, (kw, shape) in enumerate([
        (dict(filters=2, kernel_size=2, strides=2), (1, 3, 3, 2, 2)),
        (dict(filters=2, kernel_size=3, strides=2, padding="same"), (1, 3, 2, 3, 2)),
    ]):
        cs.append(C(f"conv3dt_{i}", "Conv3DTranspose", kw, shape))
    for i, (kw, shape) in enumerate([
        (dict(kernel_size=3), (2, 7, 3)),
        (dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 8, 3)),
    ]):
        cs.append(C(f"dwconv1d_{i}", "DepthwiseConv1D", kw, shape))
    for i, (kw, shape) in enumerate([
        (dict(kernel_size=3), (2, 6, 6, 3)),
        (dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 6, 7, 3)),
        (dict(kernel_size=2, depth_multiplier=2, padding="same", dilation_rate=2), (2, 5, 5, 2)),
    ]):
        cs.append(C(f"dwconv2d_{i}", "DepthwiseConv2D", kw, shape))
    for i, (kw, shape) in enumerate([
        (dict(filters=4, kernel_size=3), (2, 7, 3)),
        (dict(filters=4, kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 8, 3)),
    ]):
        cs.append(C(f"sepconv1d_{i}", "SeparableConv1D", kw, shape))
    for i, (kw, shape) in enumerate([
        (dict(filters=4, kernel_size=3), (2, 6, 6, 3)),
        (dict(filters=4, kernel_size=2, depth_multiplier=2, strides=2, padding="same"),
         (2, 5, 6, 3)),
    ]):
        cs.append(C(f"sepconv2d_{i}", "SeparableConv2D", kw, shape))
    return cs


def pool_cases():
    cs = []
    for kind in ("Max", "Average"):
        for i, (kw, shape) in enumerate([
            (dict(), (2, 7, 3)),
            (dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
            (dict(pool_size=3, strides=1, padding="same"), (2, 5, 2)),
            (dict(pool_size=2, data_format="channels_first"), (2, 3, 6)),
        ]):
            cs.append(C(f"{kind.lower()}pool1d_{i}", f"{kind}Pooling1D", kw, shape))
        for i, (kw, shape) in enumerate([
            (dict(), (2, 5, 6, 2)),
            (dict(pool_size=3, strides=2, padding="same"), (2, 6, 7, 2)),
            (dict(pool_size=(3, 2), strides=1, padding="same"), (2, 4, 5, 2)),
            (dict(pool_size=3, strides=(2, 1)), (2, 7, 6, 2)),
        ]):
            cs.append(C(f"{kind.lower()}pool2d_{i}", f"{kind}Pooling2D", kw, shape))
        for i, (kw, shape) in enumerate([
            (dict(), (1, 4, 4, 5, 2)),
            (dict(pool_size=3, strides=2, padding="same"), (1, 4, 5, 3, 2)),
        ]):
            cs.append(C(f"{kind.lower()}pool3d_{i}", f"{kind}Pooling3D", kw, shape))
        for d, shape in ((1, (2, 5, 3)), (2, (2, 4, 3, 2)), (3, (1, 3, 2, 3, 2))):
            for keep in (False, True):
                cs.append(C(f"global{kind.lower()}pool{d}d_{int(keep)}",
                            f"Global{kind}Pooling{d}D", dict(keepdims=keep), shape))
        cs.append(C(f"global{kind.lower()}pool2d_cf", f"Global{kind}Pooling2D",
                    dict(data_format="channels_first"), (2, 3, 4, 2)))
    return cs


def reshape_cases():
    return [
        C("upsampling1d", "UpSampling1D", dict(size=3), (2, 4, 2)),
        C("upsampling2d_nearest", "UpSampling2D", dict(size=(2, 3)), (2, 3, 2, 2)),
        C("upsampling2d_bilinear", "UpSampling2D", dict(size=2, interpolation="bilinear"),
          (2, 3, 4, 2)),
        C("upsampling2d_bilinear_13", "UpSampling2D", dict(size=(1, 3), interpolation="bilinear"),
          (1, 2, 3, 2)),
        C("upsampling3d", "UpSampling3D", dict(size=(2, 1, 2)), (1, 2, 3, 2, 2)),
        C("zeropadding1d", "ZeroPadding1D", dict(padding=(1, 2)), (2, 3, 2)),
        C("zeropadding2d", "ZeroPadding2D", dict(padding=((1, 0), (2, 1))), (2, 3, 2, 2)),
        C("zeropadding3d", "ZeroPadding3D", dict(padding=1), (1, 2, 2, 2, 2)),
        C("cropping1d", "Cropping1D", dict(cropping=(1, 2)), (2, 6, 2)),
        C("cropping2d", "Cropping2D", dict(cropping=((1, 0), (2, 1))), (2, 5, 6, 2)),
        C("cropping3d", "Cropping3D", dict(cropping=1), (1, 4, 4, 4, 2)),
    ]


def norm_cases():
    cs = []
    for i, (kw, shape) in enumerate([
        (dict(), (6, 3)),
        (dict(momentum=0.5), (6, 3)),
        (dict(axis=1), (4, 3, 2, 5)),
        (dict(), (4, 3, 2, 5)),
        (dict(momentum=0.5, center=False, scale=False), (4, 3, 2, 3)),
        (dict(axis=1, momentum=0.9, epsilon=1e-2), (5, 4)),
        (dict(axis=-1, momentum=0.9), (4, 5, 3)),
    ]):
        cs.append(C(f"batchnorm_{i}", "BatchNormalization", kw, shape, training=True))
    cs += [
        C("layernorm_0", "LayerNormalization", dict(), (3, 4, 5)),
        C("layernorm_1", "LayerNormalization", dict(axis=[1, 2]), (3, 4, 5)),
        C("layernorm_2", "LayerNormalization", dict(center=False, epsilon=1e-5), (3, 6)),
        C("groupnorm_0", "GroupNormalization", dict(groups=2), (2, 3, 4)),
        C("groupnorm_1", "GroupNormalization", dict(groups=3, axis=1), (2, 6, 3, 2)),
        C("unitnorm_0", "UnitNormalization", dict(), (3, 5)),
        C("unitnorm_1", "UnitNormalization", dict(axis=[1, 2]), (2, 3, 4)),
    ]
    return cs


def act_cases():
    return [
        C("relu_0", "ReLU", dict(), (3, 5)),
        C("relu_1", "ReLU", dict(max_value=0.3, negative_slope=0.1, threshold=0.1), (3, 5)),
        C("leakyrelu", "LeakyReLU", dict(alpha=0.2), (3, 5)),
        C("prelu_0", "PReLU", dict(), (3, 4, 2)),
        C("prelu_1", "PReLU", dict(shared_axes=[1]), (3, 4, 2)),
        C("elu", "ELU", dict(alpha=0.7), (3, 5)),
        C("softmax_0", "Softmax", dict(axis=-1), (3, 5)),
        C("softmax_1", "Softmax", dict(axis=1), (2, 3, 4)),
        C("softmax_mask", "Softmax", dict(), (3, 5), mask_in="full"),
        C("thresholdedrelu", "ThresholdedReLU", dict(theta=0.2), (3, 5)),
    ]


def rnn_cases():
    cs = [C("embedding_0", "Embedding", dict(input_dim=7, output_dim=3), (2, 5), ids=True),
          C("embedding_1", "Embedding", dict(input_dim=7, output_dim=3, mask_zero=True), (2, 5),
            ids=True)]
    grids = {
        "SimpleRNN": [dict(), dict(return_sequences=True, return_state=True),
                      dict(go_backwards=True, activation="relu")],
        "LSTM": [dict(), dict(return_sequences=True, return_state=True),
                 dict(go_backwards=True, return_sequences=True)],
        "GRU": [dict(), dict(reset_after=False, return_sequences=True, return_state=True),
                dict(go_backwards=True, return_state=True),
                dict(reset_after=False, go_backwards=True)],
    }
    for cls, grid in grids.items():
        for i, kw in enumerate(grid):
            kw = dict(units=3, **kw)
            cs.append(C(f"{cls.lower()}_{i}", cls, kw, (2, 5, 4)))
            cs.append(C(f"{cls.lower()}_{i}_masked", cls, kw, (3, 6), masked=True))
    for mode in ("concat", "sum", "mul", "ave", None):
        cs.append(C(f"bidirectional_{mode}", "Bidirectional",
                    dict(layer=("LSTM", dict(units=3, return_sequences=True)), merge_mode=mode),
                    (2, 4, 3)))
    cs.append(C("bidirectional_gru_masked", "Bidirectional",
                dict(layer=("GRU", dict(units=2)), merge_mode="concat"), (3, 5), masked=True))
    cs.append(C("timedistributed", "TimeDistributed",
                dict(layer=("Dense", dict(units=3, activation="relu"))), (2, 4, 5)))
    return cs


def extra_cases():
    """More argument combinations: channels_first where tf.keras runs it, causal depthwise,
    masks, the unfused BatchNormalization paths, recurrent options."""
    cf = dict(data_format="channels_first")
    return [
        C("x_conv1d_cf", "Conv1D", dict(filters=3, kernel_size=3, **cf), (2, 2, 7)),
        C("x_conv1d_causal_s2", "Conv1D", dict(filters=3, kernel_size=3, padding="causal",
                                               strides=2), (2, 8, 2)),
        C("x_conv2d_same_s3", "Conv2D", dict(filters=2, kernel_size=5, strides=3,
                                             padding="same"), (1, 8, 10, 2)),
        C("x_conv2d_cf_same", "Conv2D", dict(filters=3, kernel_size=2, padding="same",
                                             strides=2, **cf), (2, 2, 5, 5)),
        C("x_conv3d_cf", "Conv3D", dict(filters=2, kernel_size=2, **cf), (1, 2, 3, 3, 3)),
        C("x_conv2dt_cf", "Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, **cf),
          (1, 2, 3, 3)),
        C("x_conv1dt_same_op", "Conv1DTranspose", dict(filters=2, kernel_size=4, strides=3,
                                                       padding="same", output_padding=2),
          (2, 4, 2)),
        C("x_conv2dt_valid_s3", "Conv2DTranspose", dict(filters=2, kernel_size=2, strides=3),
          (1, 3, 2, 2)),
        C("x_dwconv2d_cf", "DepthwiseConv2D", dict(kernel_size=3, **cf), (1, 2, 5, 5)),
        C("x_sepconv1d_causal", "SeparableConv1D", dict(filters=3, kernel_size=3,
                                                        padding="causal", dilation_rate=2),
          (2, 7, 2)),
        C("x_sepconv2d_dil", "SeparableConv2D", dict(filters=3, kernel_size=2, dilation_rate=2,
                                                     use_bias=False), (1, 5, 5, 2)),
        C("x_avgpool2d_same_43", "AveragePooling2D", dict(pool_size=4, strides=3,
                                                          padding="same"), (1, 7, 8, 2)),
        C("x_maxpool2d_same_43", "MaxPooling2D", dict(pool_size=4, strides=3,
                                                      padding="same"), (1, 7, 8, 2)),
        C("x_avgpool1d_same_big", "AveragePooling1D", dict(pool_size=5, strides=2,
                                                           padding="same"), (1, 4, 2)),
        C("x_avgpool2d_cf", "AveragePooling2D", dict(pool_size=2, **cf), (1, 2, 4, 5)),
        C("x_maxpool3d_cf", "MaxPooling3D", dict(pool_size=2, **cf), (1, 2, 4, 4, 4)),
        C("x_avgpool3d_same_cf", "AveragePooling3D", dict(pool_size=3, strides=2,
                                                          padding="same", **cf),
          (1, 2, 4, 3, 5)),
        C("x_gap1d_mask", "GlobalAveragePooling1D", dict(), (3, 5, 2), mask_in="steps"),
        C("x_gap1d_mask_keep", "GlobalAveragePooling1D", dict(keepdims=True), (3, 5, 2),
          mask_in="steps"),
        C("x_gmp1d_cf", "GlobalMaxPooling1D", dict(**cf), (2, 3, 5)),
        C("x_gap3d_cf_keep", "GlobalAveragePooling3D", dict(keepdims=True, **cf),
          (1, 2, 3, 2, 2)),
        C("x_upsampling2d_cf", "UpSampling2D", dict(size=2, **cf), (1, 2, 2, 3)),
        C("x_upsampling2d_bil_cf", "UpSampling2D", dict(size=(3, 2), interpolation="bilinear",
                                                        **cf), (1, 2, 2, 3)),
        C("x_upsampling3d_cf", "UpSampling3D", dict(size=2, **cf), (1, 2, 2, 1, 2)),
        C("x_zeropadding2d_cf", "ZeroPadding2D", dict(padding=(1, 2), **cf), (1, 2, 2, 3)),
        C("x_zeropadding3d_cf", "ZeroPadding3D", dict(padding=((1, 0), (0, 2), (1, 1)), **cf),
          (1, 2, 2, 1, 2)),
        C("x_cropping2d_cf", "Cropping2D", dict(cropping=(1, 2), **cf), (1, 2, 4, 6)),
        C("x_cropping3d_cf", "Cropping3D", dict(cropping=((1, 0), (0, 2), (1, 1)), **cf),
          (1, 2, 3, 4, 4)),
        C("x_batchnorm_axis2_r4", "BatchNormalization", dict(axis=2, momentum=0.5),
          (4, 3, 2, 5), training=True),
        C("x_batchnorm_axis12", "BatchNormalization", dict(axis=[1, 2], momentum=0.5),
          (4, 3, 2, 5), training=True),
        C("x_batchnorm_r5", "BatchNormalization", dict(momentum=0.5), (3, 2, 2, 2, 3),
          training=True),
        C("x_batchnorm_r5_axis1", "BatchNormalization", dict(axis=1, momentum=0.5),
          (3, 2, 2, 2, 3), training=True),
        C("x_batchnorm_r3_axis1", "BatchNormalization", dict(axis=1, momentum=0.5),
          (3, 2, 4), training=True),
        C("x_batchnorm_scale_only", "BatchNormalization", dict(center=False, momentum=0.5),
          (4, 2, 2, 3), training=True),
        C("x_layernorm_axis1", "LayerNormalization", dict(axis=1, scale=False), (3, 4, 5)),
        C("x_layernorm_r4", "LayerNormalization", dict(axis=[-2, -1]), (2, 3, 2, 4)),
        C("x_groupnorm_1", "GroupNormalization", dict(groups=1, center=False), (2, 3, 4)),
        C("x_groupnorm_all", "GroupNormalization", dict(groups=-1, scale=False), (2, 3, 4)),
        C("x_groupnorm_eps", "GroupNormalization", dict(groups=2, epsilon=0.1), (2, 2, 2, 4)),
        C("x_unitnorm_axis1", "UnitNormalization", dict(axis=1), (2, 3, 4)),
        C("x_relu_max", "ReLU", dict(max_value=0.5), (3, 5)),
        C("x_relu_thr", "ReLU", dict(threshold=0.3), (3, 5)),
        C("x_relu_slope", "ReLU", dict(negative_slope=0.2), (3, 5)),
        C("x_leakyrelu_default", "LeakyReLU", dict(), (3, 5)),
        C("x_elu_default", "ELU", dict(), (3, 5)),
        C("x_prelu_shared12", "PReLU", dict(shared_axes=[1, 2]), (2, 3, 2, 4)),
        C("x_softmax_axes", "Softmax", dict(axis=[1, 2]), (2, 3, 4)),
        C("x_softmax_robust", "Softmax", dict(robust_masking=True), (3, 5), mask_in="full"),
        C("x_softmax_axes_mask", "Softmax", dict(axis=[1, 2]), (2, 3, 4), mask_in="full"),
        C("x_thresholdedrelu_default", "ThresholdedReLU", dict(), (3, 5)),
        C("x_embedding_len", "Embedding", dict(input_dim=9, output_dim=2, input_length=4),
          (2, 4), ids=True),
        C("x_simplernn_nobias", "SimpleRNN", dict(units=2, use_bias=False,
                                                  return_sequences=True), (2, 4, 3)),
        C("x_simplernn_state_back_masked", "SimpleRNN",
          dict(units=2, return_state=True, go_backwards=True, return_sequences=True), (3, 6),
          masked=True),
        C("x_lstm_acts", "LSTM", dict(units=2, activation="relu",
                                      recurrent_activation="hard_sigmoid",
                                      return_sequences=True), (2, 4, 3)),
        C("x_lstm_state_back_masked", "LSTM",
          dict(units=2, return_state=True, go_backwards=True), (3, 6), masked=True),
        C("x_lstm_nobias_masked", "LSTM", dict(units=2, use_bias=False, return_sequences=True),
          (3, 6), masked=True),
        C("x_gru_nobias", "GRU", dict(units=2, use_bias=False, reset_after=False,
                                      return_sequences=True), (2, 4, 3)),
        C("x_gru_ra_seq_masked", "GRU", dict(units=2, return_sequences=True), (3, 6),
          masked=True),
        C("x_gru_noreset_masked", "GRU", dict(units=2, reset_after=False, return_state=True),
          (3, 6), masked=True),
        C("x_bidirectional_state", "Bidirectional",
          dict(layer=("LSTM", dict(units=2, return_state=True)), merge_mode="concat"),
          (2, 4, 3)),
        C("x_bidirectional_seq_masked", "Bidirectional",
          dict(layer=("SimpleRNN", dict(units=2, return_sequences=True)), merge_mode="sum"),
          (3, 5), masked=True),
        C("x_bidirectional_none_masked", "Bidirectional",
          dict(layer=("GRU", dict(units=2, return_sequences=True, reset_after=False)),
               merge_mode=None), (3, 5), masked=True),
        C("x_batchnorm_mask", "BatchNormalization", dict(momentum=0.5), (3, 5, 2),
          mask_in="steps", training=True),
        C("x_lstm_time_major", "LSTM", dict(units=2, time_major=True, return_sequences=True),
          (4, 2, 3)),
        C("x_gru_time_major", "GRU", dict(units=2, time_major=True, go_backwards=True),
          (4, 2, 3)),
        C("x_lstm_empty_row_masked", "LSTM", dict(units=2, return_sequences=True,
                                                  return_state=True), (3, 5), masked=True,
          empty_row=True),
        C("x_gru_empty_row_masked", "GRU", dict(units=2), (3, 5), masked=True, empty_row=True),
        C("x_bidirectional_state_masked", "Bidirectional",
          dict(layer=("LSTM", dict(units=2, return_state=True, return_sequences=True)),
               merge_mode="ave"), (3, 5), masked=True),
        C("x_simplernn_unroll", "SimpleRNN", dict(units=2, unroll=True, return_sequences=True,
                                                  activation="sigmoid"), (2, 3, 2)),
        C("x_rnn_lstmcell", "RNN", dict(cell=("LSTMCell", dict(units=2)),
                                        return_sequences=True), (2, 4, 3)),
        C("x_rnn_stacked", "RNN", dict(cell=[("GRUCell", dict(units=3)),
                                             ("SimpleRNNCell", dict(units=2))],
                                       return_state=True), (2, 4, 3)),
        C("x_rnn_stacked_masked", "RNN", dict(cell=[("LSTMCell", dict(units=2)),
                                                    ("GRUCell", dict(units=2,
                                                                     reset_after=False))],
                                              return_sequences=True), (3, 5), masked=True),
        C("x_bidirectional_backward_layer", "Bidirectional",
          dict(layer=("LSTM", dict(units=2, return_sequences=True)),
               backward_layer=("GRU", dict(units=3, return_sequences=True,
                                           go_backwards=True)), merge_mode="concat"),
          (2, 4, 3)),
        C("x_lstm_stateful", "LSTM", dict(units=2, stateful=True, return_sequences=True),
          (2, 3, 2), stateful=True),
        C("x_gru_stateful", "GRU", dict(units=2, stateful=True, reset_after=False),
          (2, 3, 2), stateful=True),
        C("x_lstm_initial_state", "LSTM", dict(units=2, return_state=True), (2, 3, 2),
          initial_state=True),
        C("x_gru_initial_state", "GRU", dict(units=3, return_sequences=True,
                                             go_backwards=True), (2, 3, 2),
          initial_state=True),
        C("x_simplernn_initial_state", "SimpleRNN", dict(units=2), (2, 3, 2),
          initial_state=True),
        C("x_timedistributed_conv", "TimeDistributed",
          dict(layer=("Conv1D", dict(filters=2, kernel_size=2))), (2, 3, 4, 2)),
        C("x_timedistributed_masked", "TimeDistributed",
          dict(layer=("Dense", dict(units=2))), (3, 5), masked=True),
    ]


def config_cases():
    """float64 layers, and regularizers, constraints and initializers in the config (their
    losses are recorded after the call)."""
    reg = keras.regularizers
    return [
        C("f64_conv2d", "Conv2D", dict(filters=2, kernel_size=3, padding="same",
                                       dtype="float64"), (1, 4, 4, 2)),
        C("f64_lstm", "LSTM", dict(units=2, return_sequences=True, dtype="float64"), (2, 3, 2)),
        C("f64_batchnorm", "BatchNormalization", dict(momentum=0.5, dtype="float64"),
          (4, 2, 2, 3), training=True),
        C("reg_conv2d", "Conv2D",
          dict(filters=2, kernel_size=2, kernel_regularizer=reg.L2(0.01),
               bias_regularizer=reg.L1L2(0.1, 0.2), activity_regularizer="l1",
               kernel_constraint=keras.constraints.MaxNorm(2.0),
               bias_constraint="non_neg",
               kernel_initializer=keras.initializers.HeNormal(seed=1),
               bias_initializer=keras.initializers.Constant(0.1)), (1, 3, 3, 2), losses=True),
        C("reg_lstm", "LSTM",
          dict(units=2, kernel_regularizer="l2", recurrent_regularizer=reg.L1(0.05),
               bias_regularizer="l1", recurrent_constraint="unit_norm", dropout=0.1,
               recurrent_dropout=0.2, unroll=True), (2, 3, 2), losses=True),
        C("reg_gru", "GRU", dict(units=2, activity_regularizer=reg.L2(0.3),
                                 kernel_initializer="orthogonal"), (2, 3, 2), losses=True),
        C("reg_batchnorm", "BatchNormalization",
          dict(beta_regularizer="l2", gamma_regularizer=reg.L1(0.2),
               gamma_constraint=keras.constraints.MinMaxNorm(0.5, 1.0)), (3, 4), losses=True),
        C("reg_embedding", "Embedding",
          dict(input_dim=5, output_dim=2, embeddings_regularizer="l2",
               activity_regularizer="l1", embeddings_constraint="non_neg"), (2, 3),
          ids=True, losses=True),
        C("reg_sepconv1d", "SeparableConv1D",
          dict(filters=2, kernel_size=2, depthwise_regularizer="l2",
               pointwise_regularizer=reg.L1(0.3), pointwise_constraint="max_norm"),
          (1, 4, 2), losses=True),
        C("reg_prelu", "PReLU", dict(alpha_regularizer="l2", alpha_constraint="non_neg",
                                     alpha_initializer=keras.initializers.Constant(0.25)),
          (2, 3), losses=True),
        C("reg_layernorm", "LayerNormalization",
          dict(beta_regularizer="l1", gamma_constraint="non_neg"), (2, 3), losses=True),
        C("reg_dwconv2d", "DepthwiseConv2D",
          dict(kernel_size=2, depthwise_regularizer=reg.L2(0.5), bias_regularizer="l2",
               depthwise_constraint="unit_norm"), (1, 3, 3, 2), losses=True),
    ]


def activation_cases():
    """Every named activation fused into a convolution or a dense layer."""
    names = ["sigmoid", "gelu", "swish", "selu", "elu", "softplus", "softsign", "hard_sigmoid",
             "exponential", "relu6", "silu", "mish", "softmax", "leaky_relu"]
    cs = [C(f"act_conv1d_{a}", "Conv1D", dict(filters=3, kernel_size=2, activation=a),
            (2, 5, 2)) for a in names]
    cs += [C(f"act_conv2d_{a}", "Conv2D", dict(filters=2, kernel_size=2, activation=a),
             (1, 3, 3, 2)) for a in ("gelu", "swish", "sigmoid", "hard_sigmoid")]
    cs += [C(f"act_dwconv2d_{a}", "DepthwiseConv2D", dict(kernel_size=2, activation=a),
             (1, 3, 3, 2)) for a in ("relu6", "swish", "elu")]
    return cs


def make_layer(case):
    kw = dict(case["kwargs"])
    for key in ("layer", "backward_layer", "cell"):
        if key in kw:
            spec = kw[key]
            if isinstance(spec, list):
                kw[key] = [getattr(layers, c)(**k) for c, k in spec]
            else:
                kw[key] = getattr(layers, spec[0])(**spec[1])
    return getattr(layers, case["cls"])(**kw)


def to_list(shape):
    if isinstance(shape, (list, tuple)) and shape and not isinstance(shape[0], (int, type(None))):
        return [to_list(s) for s in shape]
    return [None if d is None else int(d) for d in tf.TensorShape(shape).as_list()]


def weight_values(rng, weights, scale=0.5):
    vals = []
    for w in weights:
        shape = tuple(w.shape)
        if "variance" in w.name:
            vals.append(rng.uniform(0.5, 1.5, shape).astype(np.float32))
        else:
            vals.append(rng.uniform(-scale, scale, shape).astype(np.float32))
    return vals


def to_json(obj):
    """JSON text of a config, numpy scalars and arrays as plain Python values."""
    def plain(o):
        if hasattr(o, "tolist"):
            return o.tolist()
        if isinstance(o, Mapping):  # tf's tracking DictWrapper
            return dict(o)
        if isinstance(o, Sequence):  # and ListWrapper
            return list(o)
        raise TypeError(f"not JSON serializable: {type(o).__name__}")

    return json.dumps(obj, default=plain)


def record_grads(case, layer, x, store, seed, model=None, emb=None):
    """Gradients of sum(output_i * cotangent_i) w.r.t. the float input, every trainable weight
    (keyed by its index in layer.weights) and the masking Embedding's table."""
    name = case["name"]
    xt = tf.constant(x)
    float_in = xt.dtype.is_floating
    rng = np.random.default_rng(10_000 + seed)
    with tf.GradientTape() as tape:
        if float_in:
            tape.watch(xt)
        if model is not None:
            outs = model(xt)
        elif name + "/mask_in" in store:
            outs = layer(xt, mask=tf.constant(store[name + "/mask_in"]),
                         training=bool(case.get("training")))
        else:
            outs = layer(xt, training=bool(case.get("training")))
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        cots = [rng.uniform(-1, 1, o.shape).astype(o.dtype.as_numpy_dtype) for o in outs]
        loss = tf.add_n([tf.reduce_sum(o * c) for o, c in zip(outs, cots, strict=True)])
    index = [i for i, v in enumerate(layer.weights) if v.trainable]
    sources = [layer.weights[i] for i in index]
    if emb is not None:
        sources.append(emb.embeddings)
    if float_in:
        sources.append(xt)
    grads = tape.gradient(loss, sources)
    grads = [np.zeros(s.shape, s.dtype.as_numpy_dtype) if g is None
             else tf.convert_to_tensor(g).numpy() for s, g in zip(sources, grads, strict=True)]
    for i, c in enumerate(cots):
        store[f"{name}/cot{i}"] = c
    for i, g in zip(index, grads[:len(index)], strict=True):
        store[f"{name}/gw{i}"] = g
    if emb is not None:
        store[name + "/gemb"] = grads[len(index)]
    if float_in:
        store[name + "/gx"] = grads[-1]


def run_case(case, store, meta, seed):
    rng = np.random.default_rng(seed)
    shape = case["shape"]
    layer = make_layer(case)
    entry = dict(name=case["name"], cls=case["cls"], shape=list(shape))
    if case.get("masked"):
        # An int sequence with zeros anywhere, masked by Embedding(mask_zero=True).
        ids = rng.integers(0, 5, size=shape)
        ids[0, 0] = 0
        ids[1, -1] = 0
        ids[2, :] = np.where(np.arange(shape[1]) % 2 == 0, 0, rng.integers(1, 5, size=shape[1]))
        if case.get("empty_row"):
            ids[1, :] = 0
        emb = layers.Embedding(5, 4, mask_zero=True)
        inp = keras.Input(shape=shape[1:], dtype="int32")
        h = emb(inp)
        out = layer(h)
        model = keras.Model(inp, out)
        emb_w = rng.uniform(-0.5, 0.5, (5, 4)).astype(np.float32)
        emb.set_weights([emb_w])
        store[case["name"] + "/embedding"] = emb_w
        x = ids.astype(np.int32)
        w = weight_values(rng, layer.weights)
        layer.set_weights(w)
        outs = model(x)
        entry["embedding_config"] = to_json(emb.get_config())
    else:
        if case.get("ids"):
            x = rng.integers(0, case["kwargs"]["input_dim"], size=shape).astype(np.int32)
            x[0, 1] = 0
        else:
            x = rng.uniform(-1, 1, size=shape).astype(case["kwargs"].get("dtype", "float32"))
        layer.build(shape)
        w = weight_values(rng, layer.weights)
        layer.set_weights(w)
        if case.get("stateful"):
            # Two calls: the second starts from the states the first left.
            layer(x)
            x2 = rng.uniform(-1, 1, size=shape).astype(np.float32)
            store[case["name"] + "/x2"] = x2
            outs = layer(x2)
        elif case.get("initial_state"):
            sizes = layer.cell.state_size
            sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
            states = [rng.uniform(-1, 1, size=(shape[0], n)).astype(np.float32) for n in sizes]
            for i, st in enumerate(states):
                store[f"{case['name']}/s{i}"] = st
            outs = layer(x, initial_state=[tf.constant(st) for st in states])
        elif case.get("mask_in"):
            mask_shape = shape if case["mask_in"] == "full" else shape[:2]
            mask = rng.uniform(size=mask_shape) > 0.4
            mask[:, 0] = True
            store[case["name"] + "/mask_in"] = mask
            outs = layer(x, mask=tf.constant(mask))
        else:
            outs = layer(x, training=False)
        if case["cls"] == "Embedding" and case["kwargs"].get("mask_zero"):
            store[case["name"] + "/mask"] = layer.compute_mask(x).numpy()
        if case.get("training"):
            if case.get("mask_in"):
                tr = layer(x, training=True, mask=tf.constant(store[case["name"] + "/mask_in"]))
            else:
                tr = layer(x, training=True)
            store[case["name"] + "/train_out"] = tr.numpy()
            for v in layer.weights:
                if "moving" in v.name:
                    key = v.name.split("/")[-1].split(":")[0]
                    store[case["name"] + "/after_" + key] = v.numpy()
    if case.get("losses"):
        store[case["name"] + "/losses"] = np.array(sorted(float(v) for v in layer.losses))
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    entry["n_out"] = len(outs)
    store[case["name"] + "/x"] = x
    for i, o in enumerate(outs):
        store[f"{case['name']}/out{i}"] = o.numpy()
        out_mask = getattr(o, "_keras_mask", None)
        if case.get("masked") and out_mask is not None:
            store[f"{case['name']}/out_mask{i}"] = out_mask.numpy()
    entry["n_weights"] = len(w)
    for i, v in enumerate(w):
        store[f"{case['name']}/w{i}"] = v
    prefix = layer.name + "/"
    entry["weight_names"] = [v.name[len(prefix):].split(":")[0] if v.name.startswith(prefix)
                             else v.name.split(":")[0] for v in layer.weights]
    entry["weight_shapes"] = [list(v.shape) for v in layer.weights]
    entry["config"] = to_json(layer.get_config())
    try:
        in_shape = (None,) + tuple(shape[1:])
        if case.get("masked"):
            in_shape = in_shape + (4,)
        entry["output_shape"] = to_list(layer.compute_output_shape(in_shape))
    except NotImplementedError:
        entry["output_shape"] = None
    # And with every dimension unknown but the channels (the batch-shape-free form).
    try:
        in_shape = list((None,) + tuple(shape[1:]) + ((4,) if case.get("masked") else ()))
        keep = 1 if case["kwargs"].get("data_format") == "channels_first" else len(in_shape) - 1
        if case.get("ids") or case.get("masked"):
            keep = len(in_shape) - 1 if case.get("masked") else -1
        in_shape = [d if i == keep or case["cls"] in ("BatchNormalization",
                                                       "LayerNormalization",
                                                       "GroupNormalization") else None
                    for i, d in enumerate(in_shape)]
        entry["none_shape"] = in_shape
        entry["output_shape_none"] = to_list(layer.compute_output_shape(tuple(in_shape)))
    except (NotImplementedError, ValueError, TypeError):
        entry["output_shape_none"] = None
    if case.get("masked"):
        record_grads(case, layer, x, store, seed, model=model, emb=emb)
    elif not (case.get("stateful") or case.get("initial_state")):
        record_grads(case, layer, x, store, seed)
    meta.append(entry)


def model_cases(store):
    """Whole tf.keras models: their get_config(), weights (get_weights order), input, output."""
    rng = np.random.default_rng(12345)
    models = {}
    models["model_cnn"] = keras.Sequential([
        keras.Input((8, 8, 3)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(),
        layers.SeparableConv2D(4, 2, padding="same"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3, activation="softmax"),
    ])
    ids = keras.Input((6,), dtype="int32")
    h = layers.Embedding(10, 4, mask_zero=True)(ids)
    h = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(h)
    h = layers.GRU(2)(h)
    models["model_text"] = keras.Model(ids, layers.Dense(1, activation="sigmoid")(h))
    inp = keras.Input((5, 2))
    a = layers.Conv1D(3, 2, padding="causal")(inp)
    b = layers.SimpleRNN(3, return_sequences=True)(inp)
    c = layers.LayerNormalization()(layers.add([a, b]))
    c = layers.UpSampling1D(2)(c)
    models["model_functional"] = keras.Model(inp, layers.GlobalMaxPooling1D()(c))
    meta = []
    for name, model in models.items():
        ws = [rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in model.get_weights()]
        for i, v in enumerate(model.weights):
            if "variance" in v.name:
                ws[i] = np.abs(ws[i]) + 0.5
        model.set_weights(ws)
        if name == "model_text":
            x = rng.integers(0, 10, size=(3, 6)).astype(np.int32)
            x[0, :2] = 0
            x[1, 3] = 0
        else:
            x = rng.uniform(-1, 1, size=(2, *model.input_shape[1:])).astype(np.float32)
        store[name + "/x"] = x
        store[name + "/out"] = model(x, training=False).numpy()
        for i, v in enumerate(ws):
            store[f"{name}/w{i}"] = v
        meta.append(dict(name=name, cls=type(model).__name__, n_weights=len(ws),
                         config=to_json(model.get_config())))
    return meta


def main():
    cases = conv_cases() + pool_cases() + reshape_cases() + norm_cases() + act_cases() + rnn_cases()
    cases += extra_cases() + config_cases() + activation_cases()
    store, meta, skipped = {}, [], []
    for seed, case in enumerate(cases):
        try:
            run_case(case, store, meta, seed)
        except (tf.errors.OpError, ValueError) as e:
            # channels_first convs and pools do not run on tf's CPU kernels.
            skipped.append((case["name"], f"{type(e).__name__}: {str(e)[:300]}"))
    store["__meta__"] = np.array(json.dumps(meta))
    store["__models__"] = np.array(json.dumps(model_cases(store)))
    np.savez_compressed(OUT, **store)
    print(f"{len(meta)} cases written to {OUT} ({os.path.getsize(OUT)} bytes)")
    for name, err in skipped:
        print("skipped (tf.keras cannot run it here):", name, err)


if __name__ == "__main__":
    main()
