"""The one joint layout (``bidrn_tf.smplx.joints``) against the reference ``smplx`` package and by name."""
import numpy as np

from bidrn_tf.smplx import joints
from bidrn_tf.smplx.joints import JOINT_NAMES


def test_joint_names_are_the_reference_smplx_layout():
    from smplx.joint_names import JOINT_NAMES as REFERENCE

    assert JOINT_NAMES == list(REFERENCE[:joints.NUM_JOINTS])
    assert len(joints.PARENTS) == joints.NUM_JOINTS and joints.PARENTS[0] == -1
    assert all(p < j for j, p in enumerate(joints.PARENTS))  # parents come first (topological order)


def test_region_joint_constants_name_the_right_joints():
    assert {s: JOINT_NAMES[j] for s, j in joints.HAND_ROOTS.items()} == {"left": "left_wrist", "right": "right_wrist"}
    assert JOINT_NAMES[joints.FACE_ROOT] == "neck"
    lsp = [JOINT_NAMES[j] for j in joints.J14_FROM_SMPLX]
    assert lsp[:3] == ["right_ankle", "right_knee", "right_hip"] and lsp[-2:] == ["neck", "head"]
    assert [JOINT_NAMES[j] for j in joints.LEFT_HAND_JOINTS[:2]] == ["left_wrist", "left_index1"]


def test_derived_tables_follow_the_names():
    flipped = [JOINT_NAMES[j] for j in joints.FLIP_PERM]
    assert flipped[JOINT_NAMES.index("left_wrist")] == "right_wrist" and flipped[0] == "pelvis"
    assert (joints.FLIP_PERM[joints.FLIP_PERM] == np.arange(joints.NUM_JOINTS)).all()
    thumb, index = joints.HAND_CHAINS["right"][0], joints.HAND_CHAINS["right"][1]
    assert [JOINT_NAMES[j] for j in thumb] == ["right_thumb1", "right_thumb2", "right_thumb3"]
    assert [JOINT_NAMES[j] for j in index] == ["right_index1", "right_index2", "right_index3"]
    assert joints.HAND_MCP == [4, 8, 12, 16]  # index, middle, ring, pinky MCP in Hand4Whole's 20 hand joints
    assert [JOINT_NAMES[r] for r in joints.GROUP_ROOT[[0, 21, 22, 24, 25, 54]]] == [
        "pelvis", "pelvis", "neck", "neck", "left_wrist", "right_wrist"]
    assert sum(joints.OUTPUT_SIZES.values()) == 3 + 63 + 45 + 45 + 3 + 10 + 10
