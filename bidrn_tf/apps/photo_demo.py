"""Photo -> whole-body mesh: writes ``mesh.obj``, ``overlay.png`` and ``params.json`` under ``--out``.

    bidrn-demo [--image IMG] --out DIR [--checkpoint CKPT] [--smplx-model PATH] [--method M]
    python -m bidrn_tf.apps.photo_demo ...   (the same)

Without ``--image`` it uses scikit-image's astronaut photograph. Without ``--smplx-model`` it runs on the
generated SMPL-X-format model (NOT SMPL-X); without ``--checkpoint`` on untrained weights. Both facts are
printed and written on the overlay, because such a mesh says nothing about the person in the photo.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import cv2
import numpy as np

import bidrn_tf  # noqa: F401
from bidrn_tf.fileio import versioned, write_set


def _obj_bytes(vertices, faces) -> bytes:
    import trimesh

    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False).export(file_type="obj").encode()


def run(image=None, out="out/demo_mesh", *, checkpoint=None, smplx_model=None, method=None, bbox=None,
        config=None) -> dict:
    """The demo as a function (the CLI calls it); returns the paths written.

    With a ``checkpoint`` written by training, its metadata supplies the method, the model configuration and
    (when ``smplx_model`` is not given and the file still exists) the SMPL-X model it was trained with.
    """
    from bidrn_tf.inference import BOX_KEYS, load_image, predict, prepare_input, prepare_model
    from bidrn_tf.render import put_banner, render_mesh
    from bidrn_tf.smplx.joints import PARAM_OUTPUTS
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    from bidrn_tf.cli import check_outputs

    paths = {"obj": os.path.join(out, "mesh.obj"), "overlay": os.path.join(out, "overlay.png"),
             "params": os.path.join(out, "params.json")}
    check_outputs(**paths)  # before the slow work
    os.makedirs(out, exist_ok=True)
    if image is None:
        from skimage import data

        image = data.astronaut()
        print("No --image: using scikit-image's astronaut photograph.")
    rgb = load_image(image)
    calibration = None
    if checkpoint is None:  # untrained: calibrate BatchNorm on this photo (see inference.prepare_model)
        from bidrn_tf.models.config import ModelConfig

        smplx_model = model_or_stand_in(smplx_model, out)
        config = config or ModelConfig()
        calibration = prepare_input(rgb, bbox, config.image_hw)[0]
    model, notices = prepare_model(method=method, checkpoint=checkpoint, smplx_model=smplx_model, config=config,
                                   calibration_images=calibration)
    body = model.get_layer("whole_body")
    cfg, method, smplx_model = body.cfg, body.method, body.smplx_model
    for n in notices:
        print(f"NOTE: running on {n}: the mesh is not a reconstruction of the person in the photo.")
    res = predict(model, rgb, bbox, input_hw=cfg.image_hw, focal=cfg.focal, body_hw=cfg.body_hw)
    faces = body.smplx.faces
    overlay = render_mesh(rgb, res["vertices"], faces, res["focal"], res["princpt"])
    for name in BOX_KEYS:
        x1, y1, x2, y2 = (int(round(v)) for v in res[name])
        cv2.rectangle(overlay, (x1, y1), (x2, y2), (255, 200, 0) if "hand" in name else (0, 255, 120), 2)
    if notices:
        overlay = put_banner(overlay, "; ".join(notices) + f" ({method})")
    ok, png = cv2.imencode(".png", cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
    keys = [*PARAM_OUTPUTS, "cam_trans", *BOX_KEYS, "focal", "princpt", "person_box"]
    params = {k: np.asarray(res[k]).round(6).tolist() for k in keys}
    params.update(method=method, checkpoint=checkpoint, smplx_model=smplx_model, notices=notices)
    write_set({paths["obj"]: _obj_bytes(res["vertices"], faces), paths["overlay"]: png.tobytes(),
               paths["params"]: json.dumps(versioned(params), indent=1).encode()})  # all three, or none
    for k, p in paths.items():
        print(f"wrote {p}")
    return paths


def main(argv=None) -> int:
    from bidrn_tf.models.backbones import METHODS

    ap = argparse.ArgumentParser(description="Photo -> SMPL-X mesh (.obj), overlay (.png), parameters (.json)")
    ap.add_argument("--image", default=None, help="photo (default: scikit-image's astronaut)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--checkpoint", default=None, help="weights saved by training (default: untrained)")
    ap.add_argument("--smplx-model", default=None, help="SMPLX_NEUTRAL.npz (default: generated stand-in)")
    ap.add_argument("--method", default=None, choices=METHODS,
                    help="default: the checkpoint's, else bidrn")
    ap.add_argument("--bbox", type=float, nargs=4, default=None, metavar=("X", "Y", "W", "H"),
                    help="person box in image pixels (default: whole image)")
    args = ap.parse_args(argv)
    try:
        run(args.image, args.out, checkpoint=args.checkpoint, smplx_model=args.smplx_model, method=args.method,
            bbox=args.bbox)
    except (ValueError, FileNotFoundError) as err:  # CheckpointError / ImageError are ValueErrors
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
