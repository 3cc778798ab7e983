"""Settings read once at the CLI edge (device/settings.py); the library never reads the
environment. In-process, on the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from digitkiosk.device import cli
from digitkiosk.device.errors import InputError, SignatureError
from digitkiosk.device.settings import DEFAULT_STORE, DEFAULT_TRUST_DIR, Settings


def test_flags_over_environment_over_defaults(tmp_path):
    assert Settings.resolve({}) == Settings()
    assert Settings().trust_dir == DEFAULT_TRUST_DIR and Settings().store == DEFAULT_STORE
    env = {
        "DIGITKIOSK_MODEL": "/m/a.tflite",
        "DIGITKIOSK_BACKEND": " LiteRT ",
        "DIGITKIOSK_THREADS": "3",
        "DIGITKIOSK_TRUST_DIR": "/keys",
        "DIGITKIOSK_ALLOW_UNSIGNED": "yes",
        "DIGITKIOSK_STORE": "/store",
    }
    from_env = Settings.resolve(env)
    assert from_env == Settings(Path("/m/a.tflite"), "litert", 3, Path("/keys"), True, Path("/store"))
    flags = Settings.resolve(
        env, model="b.tflite", backend="tensorflow", threads=2, trust_dir=tmp_path, allow_unsigned=False
    )
    assert flags.model == Path("b.tflite") and flags.backend == "tensorflow" and flags.threads == 2
    assert flags.trust_dir == tmp_path and flags.allow_unsigned is False
    assert flags.policy().trust_dir == tmp_path and not flags.policy().allow_unsigned
    # The line model for fields: bundled by default, a path, or off.
    assert Settings().line_model is None and Settings().fields_by_line_model
    chosen = Settings.resolve({"DIGITKIOSK_LINE_MODEL": "/l/linenet.json"})
    assert chosen.line_model == Path("/l/linenet.json")
    off = Settings.resolve({"DIGITKIOSK_LINE_MODEL": "Off"})
    assert off.line_model is None and not off.fields_by_line_model
    # The corrections' store and the kiosk's name, read here rather than by the store.
    env = {"DIGITKIOSK_SAMPLES": "/s", "DIGITKIOSK_KIOSK_ID": " branch-7 "}
    assert Settings.resolve(env).samples == Path("/s") and Settings.resolve(env).kiosk_id == "branch-7"
    assert Settings.resolve(env, samples="/t").samples == Path("/t") and Settings().samples is None


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        ({"DIGITKIOSK_THREADS": "abc"}, {}, "DIGITKIOSK_THREADS must be a whole number"),
        ({"DIGITKIOSK_THREADS": "0"}, {}, "DIGITKIOSK_THREADS must be a whole number"),
        ({}, {"threads": 0}, "--threads must be a whole number"),
        ({"DIGITKIOSK_ALLOW_UNSIGNED": "maybe"}, {}, "DIGITKIOSK_ALLOW_UNSIGNED must be"),
    ],
)
def test_unusable_values_are_refused_by_name(env, flags, message):
    with pytest.raises(InputError, match=message):
        Settings.resolve(env, **flags)


def test_a_bad_environment_value_is_one_line_from_the_cli(monkeypatch, capsys, tmp_path):
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    monkeypatch.setenv("DIGITKIOSK_THREADS", "abc")
    assert cli.main(["predict", str(image)]) == 2
    err = capsys.readouterr().err
    assert err == "digitkiosk: error: DIGITKIOSK_THREADS must be a whole number from 1 to 64 (got 'abc')\n"


def test_threads_from_the_environment_reach_the_interpreter(monkeypatch, capsys, pendigits_test, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"strokes": pendigits_test[0]["strokes"]}) + "\n")
    monkeypatch.setenv("DIGITKIOSK_THREADS", "2")
    assert cli.main(["strokes", str(f), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["digit"] == str(pendigits_test[0]["label"])


def test_the_library_ignores_the_environment(monkeypatch, make_model):
    """Development mode in the shell does not reach a library call: only the policy passed does."""
    from digitkiosk.device.loader import load_model
    from digitkiosk.device.package import TrustPolicy

    unsigned = make_model("2030.1.7", key=None)
    monkeypatch.setenv("DIGITKIOSK_ALLOW_UNSIGNED", "1")
    with pytest.raises(SignatureError, match="cannot verify model"):  # the production policy
        load_model(unsigned)
    assert load_model(unsigned, policy=TrustPolicy(allow_unsigned=True)).card.version == "2030.1.7"


def test_bench_threads_are_used_and_reported(capsys):
    assert cli.main(["bench", "--repeats", "20", "--threads", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["threads"] == 2 and result["inference_one_digit_2_threads"]["n"] == 20
    assert "inference_one_digit_1_thread" not in result


def test_bench_refuses_what_it_cannot_do(capsys):
    assert cli.main(["bench", "--repeats", "0"]) == 2
    assert capsys.readouterr().err == "digitkiosk: error: --repeats must be at least 1\n"
    assert cli.main(["bench", "--threads", "0"]) == 2
    assert "--threads must be a whole number" in capsys.readouterr().err


def test_version_is_the_programs_in_every_command(capsys):
    from digitkiosk.deploy import cli as deploy_cli
    from digitkiosk.device import __version__
    from digitkiosk.train import cli as train_cli

    for prog, main in (("digitkiosk", cli.main), ("digitkiosk-deploy", deploy_cli.main)):
        with pytest.raises(SystemExit) as e:
            main(["--version"])
        assert e.value.code == 0 and capsys.readouterr().out == f"{prog} {__version__}\n"
    with pytest.raises(SystemExit) as e:
        train_cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out == f"digitkiosk-train {__version__}\n"
    # the model's version is --model-version (the old --version of fit/export still works)
    parser = train_cli.build_parser()
    assert parser.parse_args(["fit", "--model-version", "2.1.0"]).model_version == "2.1.0"
    assert parser.parse_args(["export", "m.keras", "--version", "2.1.1"]).model_version == "2.1.1"


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`digitkiosk ... | head -1`: the reader goes away, the command ends without a traceback."""
    import subprocess
    import sys

    rows = [json.dumps({"strokes": [[[0, 0], [10, 30]]]})] * 2000
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(rows) + "\n")
    cmd = f"{sys.executable} -m digitkiosk.device strokes {f} --json | head -1"
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert out.stdout.count("\n") == 1 and "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr
