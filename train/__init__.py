"""digitkiosk workstation side: train a cheap CNN on MNIST, quantize to full-int8 TFLite, evaluate.

Importing this package does not import TensorFlow; only the commands that need it do.
"""
