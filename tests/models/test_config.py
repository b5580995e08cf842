"""``ModelConfig`` / ``BiDRNConfig``: checked switches and the JSON round trip of checkpoint metadata."""
import json

import pytest

from bidrn_tf.models.config import BREAKDOWN, BiDRNConfig, ModelConfig, from_dict, to_dict


@pytest.mark.parametrize("cfg", [ModelConfig(), ModelConfig(boxnet="binary_upsample", bidrn=BREAKDOWN["+fur"]),
                                 ModelConfig(bidrn=BiDRNConfig(redistribution="leakyrelu", branch_bn=False,
                                                               rsign_shift=False, block_residual="none"))])
def test_json_round_trip(cfg):
    assert from_dict(json.loads(json.dumps(to_dict(cfg)))) == cfg


def test_switches_are_checked_and_modules_kept_in_paper_order():
    assert BiDRNConfig(derived_modules=["fdr", "dscr"]).derived_modules == ("dscr", "fdr")
    with pytest.raises(ValueError, match="derived_modules.*'lcr'"):
        BiDRNConfig(derived_modules=("lcr",))
    with pytest.raises(ValueError, match="redistribution"):
        BiDRNConfig(redistribution="relu")
    with pytest.raises(ValueError, match="block_residual"):
        BiDRNConfig(block_residual="identity")


def test_boxnet_default_depends_on_the_method():
    assert ModelConfig().boxnet_kind("bidrn") == "binary_deconv"
    assert ModelConfig().boxnet_kind("reactnet") == "fp"
    assert ModelConfig(boxnet="binary_upsample").boxnet_kind("fp") == "binary_upsample"


def test_a_configuration_of_version_01_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="0.1.*retrain"):
        from_dict({**to_dict(ModelConfig()), "binary_boxnet": None})
