"""Real ``transformers`` architectures, tiny and with random weights (no hub, no download).

Each factory returns ``(module, (input_ids,))``; the module maps token ids to the last
hidden state. Fresh configs initialise every norm scale to exactly 1, which `simplify`
folds away (a trained checkpoint never has that), so the scales are drawn at random.
"""

from __future__ import annotations

import torch

VOCAB = 128
SIZES = {
    "vocab_size": VOCAB,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}


class LastHiddenState(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids).last_hidden_state


def _random_norm_scales(model: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name.lower() and name.endswith("weight"):
                p.uniform_(0.5, 1.5)
    return model


def _ids() -> tuple[torch.Tensor]:
    return (torch.randint(0, VOCAB, (2, 8), generator=torch.Generator().manual_seed(0)),)


def bert():
    """BERT encoder (GELU(x + bias) in every feed-forward: FusedBiasGelu's pattern)."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(**SIZES, hidden_act="gelu")
    return LastHiddenState(_random_norm_scales(BertModel(config, add_pooling_layer=False))), _ids()


def llama():
    """Llama decoder (RMSNorm before attention, before the MLP and at the end)."""
    from transformers import LlamaConfig, LlamaModel

    torch.manual_seed(0)
    config = LlamaConfig(**SIZES, num_key_value_heads=2)
    return LastHiddenState(_random_norm_scales(LlamaModel(config))), _ids()
