"""PixelCNN plugin: a class-conditional Gated PixelCNN (van den Oord et al. 2016) with an exact
likelihood, and two registered pixel-by-pixel samplers (the naive reference and a fast one)."""

from dataclasses import replace

from zoo import ModelSpec, SamplerSpec, hookimpl
from zoo.data import FASHION_MNIST_CLASSES
from zoo.options import Option

TEMPERATURE = Option("temperature", "float", "Softmax temperature of every pixel (1: the model's distribution).",
                     min=0, min_exclusive=True)

PIXELCNN = ModelSpec(
    id="pixelcnn", factory="zoo_plugins.pixelcnn.model:GatedPixelCNN",
    trainer="zoo_plugins.pixelcnn.train:PixelCNNTrainingStep",
    family="autoregressive", capabilities=("generator", "likelihood", "conditional"), image_shape=(1, 28, 28),
    samplers=("pixelcnn-fast", "pixelcnn-naive"),
    # sized for a CPU: 48 maps per stack, 10 layers of 3×3 / 1×2 kernels (11 rows of context above a pixel)
    config={"channels": 48, "num_layers": 10, "kernel_size": 3, "head_channels": 96,
            "class_names": list(FASHION_MNIST_CLASSES)},
    test_config={"channels": 4, "num_layers": 2, "kernel_size": 3, "head_channels": 8,
                 "class_names": list("abcdefghij"), "image_size": 8},
    classes=FASHION_MNIST_CLASSES,
    paper="van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu, Conditional Image Generation "
          "with PixelCNN Decoders, NeurIPS 2016. arXiv:1606.05328",
    license="Apache-2.0",
    description="Class-conditional Gated PixelCNN (256-way softmax per pixel): exact log-likelihood, "
                "sampling pixel by pixel (--temperature), completion of occluded images (zoo complete).",
)


@hookimpl
def register_models(register):
    register(PIXELCNN)
    register(replace(PIXELCNN, id="pixelcnn-fashion", arch="pixelcnn", dataset="fashion-mnist", weights="bundled",
                     description="Class-conditional Gated PixelCNN trained on the Fashion-MNIST train split."))


@hookimpl
def register_samplers(register):
    register(SamplerSpec(id="pixelcnn-fast", factory="zoo_plugins.pixelcnn.samplers:FastSampler",
                         families=("autoregressive",), options=(TEMPERATURE,),
                         description="Pixel by pixel, the vertical stack once per row (Ramachandran et al. 2017): "
                                     "the naive sampler's pixels, ~H× fewer network passes."))
    register(SamplerSpec(id="pixelcnn-naive", factory="zoo_plugins.pixelcnn.samplers:NaiveSampler",
                         families=("autoregressive",), options=(TEMPERATURE,),
                         description="Pixel by pixel, the whole network once per pixel (the reference)."))


@hookimpl
def register_commands(cli):
    from zoo_plugins.pixelcnn.commands import add_commands

    add_commands(cli)
