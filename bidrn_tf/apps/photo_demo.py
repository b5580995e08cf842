"""Photos, folders of photos or a video -> a whole-body mesh per person: ``bidrn-demo``.

    bidrn-demo [--image PATH] --out DIR [--checkpoint CKPT] [--smplx-model PATH] [--method M] [--bbox X Y W H]
    python -m bidrn_tf.apps.photo_demo ...   (the same)

``--image`` is a photo, a folder of photos or a video file (default: scikit-image's astronaut photograph).
The people are found by ``bidrn_tf.detection.detect_people`` (OpenCV's face and HOG people detectors,
nothing downloaded), or ``--bbox`` gives the one person box. Written under ``--out``:

* a photo: ``person_<k>.obj`` per person (left to right), ``overlay.png`` (every mesh and box drawn on the
  photo) and ``people.json`` (per person: detector box, source and score; SMPL-X parameters, camera, part
  boxes) - all files of a photo are written together or not at all;
* a folder: the same in ``DIR/<photo name>/`` for each photo with people; photos without are listed;
* a video: ``overlay.mp4`` (with a progress bar while it runs) and ``people.json`` (per frame); the meshes
  too (``meshes/frame_<f>_person_<k>.obj``) with ``--save-meshes``.

A photo in which nobody is found is an error with one message and writes nothing. Without ``--smplx-model``
the demo runs on the generated SMPL-X-format model (NOT SMPL-X); without ``--checkpoint`` on untrained
weights. Both facts are printed and written on the overlay, because such meshes say nothing about the people.
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

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


class NoPersonError(ValueError):
    """Nobody was found in a photo (and no ``--bbox`` was given)."""


def _obj_bytes(vertices, faces) -> bytes:
    import trimesh

    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False).export(file_type="obj").encode()


def _png(rgb) -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def find_people(rgb, bbox=None, *, max_people=None, what="the photo") -> list:
    """``[Detection]``: the ``bbox`` given (one person), or the detector's people; none is a NoPersonError."""
    from bidrn_tf.detection import Detection, detect_people

    if bbox is not None:
        return [Detection(tuple(float(v) for v in bbox), 1.0, "--bbox")]
    people = detect_people(rgb, max_people=max_people)
    if not people:
        raise NoPersonError(f"no person found in {what}; if there is one, give its box with --bbox X Y W H")
    return people


class Demo:
    """The model, ready, and what a run on one image needs: :meth:`image` returns the files of one photo."""

    def __init__(self, *, checkpoint=None, smplx_model=None, method=None, config=None, calibration_images=None,
                 folder="."):
        from bidrn_tf.inference import prepare_model
        from bidrn_tf.models.config import ModelConfig
        from bidrn_tf.smplx.synthetic import model_or_stand_in

        if checkpoint is None:
            smplx_model = model_or_stand_in(smplx_model, folder)
            config = config or ModelConfig()
        self.model, self.notices = prepare_model(method=method, checkpoint=checkpoint, smplx_model=smplx_model,
                                                 config=config, calibration_images=calibration_images)
        body = self.model.get_layer("whole_body")
        self.cfg, self.method, self.smplx_model = body.cfg, body.method, body.smplx_model
        self.faces = body.smplx.faces
        self.checkpoint = checkpoint
        for n in self.notices:
            print(f"NOTE: running on {n}: the meshes are not reconstructions of the people in the photo.")

    def run(self, rgb, people) -> tuple[np.ndarray, list]:
        """(overlay image, [per-person result dict]) for the ``people`` (detections) of ``rgb``."""
        from bidrn_tf.inference import BOX_KEYS, predict
        from bidrn_tf.render import put_banner, render_mesh
        from bidrn_tf.smplx.joints import PARAM_OUTPUTS

        overlay, results = rgb, []
        for k, det in enumerate(people):  # the detector's left-to-right order
            res = predict(self.model, rgb, det.box, input_hw=self.cfg.image_hw, focal=self.cfg.focal,
                          body_hw=self.cfg.body_hw)
            overlay = render_mesh(overlay, res["vertices"], self.faces, res["focal"], res["princpt"])
            keys = [*PARAM_OUTPUTS, "cam_trans", *BOX_KEYS, "focal", "princpt"]
            entry = {"person": k, "detection": {"box_xywh": [round(float(v), 2) for v in det.box],
                                                "score": round(float(det.score), 4), "source": det.source,
                                                "face_xywh": None if det.face is None else list(det.face)},
                     **{key: np.asarray(res[key]).round(6).tolist() for key in keys}}
            results.append((entry, res["vertices"]))
        for k, (entry, _) in enumerate(results):
            x, y, w, h = (int(round(v)) for v in entry["detection"]["box_xywh"])
            cv2.rectangle(overlay, (x, y), (x + w, y + h), (255, 60, 60), 2)
            cv2.putText(overlay, f"person {k}", (x + 3, y + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 60, 60), 2,
                        cv2.LINE_AA)
            for name in BOX_KEYS:
                x1, y1, x2, y2 = (int(round(v)) for v in entry[name])
                cv2.rectangle(overlay, (x1, y1), (x2, y2), (255, 200, 0) if "hand" in name else (0, 255, 120), 1)
        if self.notices:
            overlay = put_banner(overlay, "; ".join(self.notices) + f" ({self.method})")
        return overlay, results

    def header(self) -> dict:
        return {"method": self.method, "checkpoint": self.checkpoint, "smplx_model": self.smplx_model,
                "notices": self.notices}

    def photo_files(self, rgb, people, out, source) -> dict:
        """{path: bytes} of one photo: meshes, overlay and people.json (written as one set by the caller)."""
        overlay, results = self.run(rgb, people)
        files = {os.path.join(out, f"person_{k}.obj"): _obj_bytes(v, self.faces) for k, (_, v) in enumerate(results)}
        files[os.path.join(out, "overlay.png")] = _png(overlay)
        report = {"image": source, **self.header(), "people": [e for e, _ in results]}
        files[os.path.join(out, "people.json")] = json.dumps(versioned(report), indent=1).encode()
        return files


def _calibration(rgb_people, cfg_hw):
    """Network inputs of every person found, for calibrating an untrained model's BatchNorm on them."""
    from bidrn_tf.inference import prepare_input

    return np.concatenate([prepare_input(rgb, d.box, cfg_hw)[0] for rgb, people in rgb_people for d in people])


def run(image=None, out="out/demo_mesh", *, checkpoint=None, smplx_model=None, method=None, bbox=None, config=None,
        max_people=None, save_meshes=False) -> dict:
    """The demo as a function (the CLI calls it); returns ``{"written": [paths], "skipped": [sources]}``."""
    from bidrn_tf.cli import check_outputs
    from bidrn_tf.inference import load_image
    from bidrn_tf.models.config import ModelConfig

    if os.path.isfile(out):
        raise ValueError(f"--out {out!r} is a file, not a folder")
    if image is None:
        from skimage import data

        image = data.astronaut()
        print("No --image: using scikit-image's astronaut photograph.")
    if isinstance(image, (str, os.PathLike)) and os.path.isdir(image):
        return _run_folder(os.fspath(image), out, checkpoint, smplx_model, method, bbox, config, max_people)
    if isinstance(image, (str, os.PathLike)) and os.fspath(image).lower().endswith(VIDEO_EXTENSIONS):
        return _run_video(os.fspath(image), out, checkpoint, smplx_model, method, bbox, config, max_people,
                          save_meshes)
    what = repr(os.fspath(image)) if isinstance(image, (str, os.PathLike)) else "the photo"
    rgb = load_image(image)
    check_outputs(overlay=os.path.join(out, "overlay.png"), people=os.path.join(out, "people.json"))
    people = find_people(rgb, bbox, max_people=max_people, what=what)  # before the model: no person, no output
    print(f"{len(people)} person(s) found: " + ", ".join(f"{d.source} {[round(v) for v in d.box]}" for d in people))
    cfg_hw = (config or ModelConfig()).image_hw
    demo = Demo(checkpoint=checkpoint, smplx_model=smplx_model, method=method, config=config, folder=out,
                calibration_images=None if checkpoint else _calibration([(rgb, people)], cfg_hw))
    files = demo.photo_files(rgb, people, out, what)
    write_set(files)  # every file of the photo, or none
    for p in files:
        print(f"wrote {p}")
    return {"written": list(files), "skipped": []}


def _run_folder(folder, out, checkpoint, smplx_model, method, bbox, config, max_people) -> dict:
    from bidrn_tf.inference import ImageError, load_image
    from bidrn_tf.models.config import ModelConfig

    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(PHOTO_EXTENSIONS))
    if not names:
        raise ImageError(f"folder {folder!r} holds no photo ({', '.join(PHOTO_EXTENSIONS)})")
    found, skipped = [], []
    for n in names:  # detect everywhere first: the calibration of an untrained model sees every person
        rgb = load_image(os.path.join(folder, n))
        try:
            found.append((n, rgb, find_people(rgb, bbox, max_people=max_people, what=repr(n))))
        except NoPersonError as err:
            print(f"skipped: {err}")
            skipped.append(n)
    if not found:
        raise NoPersonError(f"no person found in any of the {len(names)} photos of {folder!r}")
    cfg_hw = (config or ModelConfig()).image_hw
    demo = Demo(checkpoint=checkpoint, smplx_model=smplx_model, method=method, config=config, folder=out,
                calibration_images=None if checkpoint else _calibration([(r, p) for _, r, p in found], cfg_hw))
    written = []
    from tqdm import tqdm

    for n, rgb, people in tqdm(found, desc="photos", unit="photo"):
        files = demo.photo_files(rgb, people, os.path.join(out, os.path.splitext(n)[0]), n)
        write_set(files)
        written += list(files)
    summary = {"folder": folder, **demo.header(), "photos": [n for n, _, _ in found], "no_person": skipped}
    write_set({os.path.join(out, "summary.json"): json.dumps(versioned(summary), indent=1).encode()})
    print(f"wrote {len(written)} files for {len(found)} photos under {out} ({len(skipped)} without a person)")
    return {"written": written, "skipped": skipped}


def _run_video(path, out, checkpoint, smplx_model, method, bbox, config, max_people, save_meshes) -> dict:
    from tqdm import tqdm

    from bidrn_tf.inference import ImageError
    from bidrn_tf.models.config import ModelConfig

    if not os.path.isfile(path):
        raise ImageError(f"video file not found: {path!r}")
    cap = cv2.VideoCapture(path)
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    ok, first = cap.read()
    if not cap.isOpened() or not ok:
        raise ImageError(f"{path!r} is not a readable video")
    first = cv2.cvtColor(first, cv2.COLOR_BGR2RGB)
    try:
        first_people = find_people(first, bbox, max_people=max_people, what=f"the first frame of {path!r}")
    except NoPersonError:
        first_people = []
    cfg_hw = (config or ModelConfig()).image_hw
    calib = None
    if checkpoint is None:
        calib = _calibration([(first, first_people)], cfg_hw) if first_people else None
    demo = Demo(checkpoint=checkpoint, smplx_model=smplx_model, method=method, config=config, folder=out,
                calibration_images=calib)
    os.makedirs(out, exist_ok=True)
    final = os.path.join(out, "overlay.mp4")
    tmp = os.path.join(out, ".tmp-overlay.mp4")
    h, w = first.shape[:2]
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    per_frame, meshes = [], {}
    try:
        rgb, f = first, 0
        with tqdm(total=frames or None, desc="video", unit="frame") as bar:
            while rgb is not None:
                try:
                    people = first_people if f == 0 else find_people(rgb, bbox, max_people=max_people)
                except NoPersonError:
                    people = []
                if people:
                    overlay, results = demo.run(rgb, people)
                else:
                    overlay, results = rgb, []
                writer.write(cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
                per_frame.append({"frame": f, "people": [e for e, _ in results]})
                if save_meshes:
                    for k, (_, v) in enumerate(results):
                        meshes[os.path.join(out, "meshes", f"frame_{f:05d}_person_{k}.obj")] = _obj_bytes(v, demo.faces)
                bar.update(1)
                ok, frame = cap.read()
                rgb, f = (cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), f + 1) if ok else (None, f + 1)
        writer.release()
        report = {"video": path, **demo.header(), "fps": fps, "frames": per_frame}
        write_set({**meshes, os.path.join(out, "people.json"): json.dumps(versioned(report), indent=1).encode()})
        os.replace(tmp, final)
    except BaseException:
        writer.release()
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        cap.release()
    print(f"wrote {final} ({len(per_frame)} frames, {sum(len(p['people']) for p in per_frame)} person-frames)")
    return {"written": [final, os.path.join(out, "people.json"), *meshes],
            "skipped": [p["frame"] for p in per_frame if not p["people"]]}


def main(argv=None) -> int:
    from bidrn_tf.cli import positive_int
    from bidrn_tf.models.backbones import METHODS

    ap = argparse.ArgumentParser(description="Photos / a folder / a video -> one SMPL-X mesh per person found "
                                             "(.obj), an overlay (.png / .mp4) and the parameters (.json)")
    ap.add_argument("--image", default=None, help="photo, folder of photos, or video (default: scikit-image's "
                                                  "astronaut)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--checkpoint", default=None, help="weights saved by training (default: untrained)")
    ap.add_argument("--smplx-model", default=None, help="SMPLX_NEUTRAL.npz (default: generated stand-in)")
    ap.add_argument("--method", default=None, choices=METHODS, help="default: the checkpoint's, else bidrn")
    ap.add_argument("--bbox", type=float, nargs=4, default=None, metavar=("X", "Y", "W", "H"),
                    help="one person box in image pixels (default: detect every person)")
    ap.add_argument("--max-people", type=positive_int, default=None, help="keep the most confident detections")
    ap.add_argument("--save-meshes", action="store_true", help="video: also write every frame's meshes")
    args = ap.parse_args(argv)
    try:
        run(args.image, args.out, checkpoint=args.checkpoint, smplx_model=args.smplx_model, method=args.method,
            bbox=args.bbox, max_people=args.max_people, save_meshes=args.save_meshes)
    except (ValueError, FileNotFoundError) as err:  # NoPersonError / CheckpointError / ImageError are ValueErrors
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
