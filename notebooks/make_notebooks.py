"""Write the Korean course notebooks (01_...ipynb to 12_...ipynb) from the cells below, without outputs.

The notebooks are kept as Python source here and written with nbformat, so a change is reviewed as
a diff of this file and the stored .ipynb files never carry outputs or execution counts:

    .venv/bin/python notebooks/make_notebooks.py          # rewrite every notebook
    .venv/bin/python notebooks/make_notebooks.py --check  # exit 1 if a stored notebook differs

``pytest -m notebooks tests/notebooks`` executes every notebook with a real Jupyter kernel.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Notebook:
    """One chapter: its file stem, Korean title and cells (("md" | "code", source) pairs)."""

    stem: str
    title: str
    cells: tuple[tuple[str, str], ...]


def md(text: str) -> tuple[str, str]:
    """A Markdown cell from an indented triple-quoted string."""
    return ("md", textwrap.dedent(text).strip("\n"))


def code(text: str) -> tuple[str, str]:
    """A code cell from an indented triple-quoted string."""
    return ("code", textwrap.dedent(text).strip("\n"))


def setup(slug: str) -> tuple[str, str]:
    """The first code cell of every notebook: seeds, one thread, a temporary work folder, Hangul checks."""
    return code(
        f'''
        # 준비: 재현성(시드 0, 스레드 1개), 저장소 밖의 임시 실행 폴더, 한글 글꼴 점검
        import io
        import tempfile
        import warnings
        from pathlib import Path

        import numpy as np
        import torch
        from IPython.display import Image, display
        from rich.console import Console

        import seqlab

        # 그림에 한글 글꼴이 빠지면 matplotlib이 "Glyph ... missing from font" 경고를 냅니다: 여기서는 오류로 바꿉니다.
        warnings.filterwarnings("error", message="Glyph")
        warnings.filterwarnings("error", message="no font with Hangul")

        torch.manual_seed(0)
        np.random.seed(0)
        torch.set_num_threads(1)  # 스레드 1개: 결과가 재현되고, 바쁜 2코어 컴퓨터에서도 속도가 안정적입니다
        WORK = Path(tempfile.mkdtemp(prefix="seqlab-{slug}-"))  # 이 노트북의 실행 폴더는 모두 여기에
        # 학습 진행 상황은 평범한 글자 줄로 (진행 막대와 색 없이)
        console = Console(width=100, force_jupyter=False, force_terminal=False, color_system=None)
        # 모든 학습에 붙이는 공통 설정: CPU, 스레드 1개, 시드 0, 마지막 평가는 검증/테스트 배치 5개씩만
        QUICK = ["train.threads=1", "train.seed=0", "train.final_eval_batches=5", "train.device=cpu"]


        def show(fig):
            """seqlab의 그림(matplotlib Figure)을 PNG로 그려 셀 아래에 보여 줍니다 (한글이 빠지면 여기서 오류)."""
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
            display(Image(buffer.getvalue()))


        print("seqlab", seqlab.__version__, "| torch", torch.__version__, "| 실행 폴더:", WORK)
        '''
    )


# ----------------------------------------------------------------------------- 1. tensors and autograd

CH01 = Notebook(
    "01_tensors_autograd",
    "1장. 텐서, 자동 미분, 그리고 직접 쓴 학습 루프",
    (
        md(
            """
            # 1장. 텐서, 자동 미분, 그리고 직접 쓴 학습 루프

            이 장에서는 PyTorch의 **텐서**와 **자동 미분(autograd)** 을 실제 데이터(Fashion-MNIST)로 익히고,
            손으로 쓴 학습 루프와 `seqlab.train` 한 줄이 같은 일을 한다는 것을 확인합니다.

            - 데이터: Fashion-MNIST (28x28 흑백 옷 사진 10종, Debian `dataset-fashion-mnist` 패키지에서 받아 캐시)
            - 예산: 손으로 쓴 루프 몇 초, `seqlab.train` 150 스텝
            """
        ),
        setup("01"),
        md(
            """
            ## 1.1 실제 데이터를 텐서로

            `load_images`는 이미지를 `(N, H, W)` 모양의 `uint8` 배열로 돌려줍니다. `limit=3000`은 학습용과
            테스트용에서 각각 3,000장을 고르게 뽑습니다.
            """
        ),
        code(
            """
            from seqlab.data.images import load_images

            data = load_images("fashion-mnist", limit=3000)
            print("학습 이미지:", data.pixels.shape, data.pixels.dtype, "| 테스트:", data.test_pixels.shape)
            print("클래스:", data.classes)

            x = torch.tensor(data.pixels, dtype=torch.float32) / 255.0  # (N, H, W), 0..1
            y = torch.tensor(data.labels)  # (N,)
            print("x:", tuple(x.shape), x.dtype, f"| 평균 밝기 {x.mean().item():.3f}")
            flat = x.reshape(len(x), -1)  # (N, 784): MLP는 그림을 한 줄로 펴서 읽습니다
            print("펼친 모양:", tuple(flat.shape))
            """
        ),
        code(
            """
            from seqlab.viz.images import plot_image_grid

            names = [data.classes[int(label)] for label in y[:16]]
            show(plot_image_grid(x[:16].numpy(), ncols=8, titles=names, title="Fashion-MNIST 학습 이미지 16장"))
            """
        ),
        md(
            """
            ## 1.2 텐서 연산: 브로드캐스팅과 행렬 곱

            선형 층은 `y = x W + b` 한 줄입니다. `(B, 784) @ (784, 10)`은 `(B, 10)`이 되고, `b (10,)`는
            배치 차원으로 **브로드캐스팅** 됩니다.
            """
        ),
        code(
            """
            W = torch.randn(784, 10) * 0.01
            b = torch.zeros(10)
            logits = flat[:4] @ W + b  # (B, 10)
            probs = torch.softmax(logits, dim=-1)
            print("logits:", tuple(logits.shape), "| 확률의 합:", probs.sum(-1))
            """
        ),
        md(
            r"""
            ## 1.3 자동 미분

            $y = a^3 + 2a$ 이면 $\frac{dy}{da} = 3a^2 + 2$ 이므로 $a = 2$에서 14입니다. `backward()`가 이 값을
            `a.grad`에 넣습니다.
            """
        ),
        code(
            """
            a = torch.tensor(2.0, requires_grad=True)
            out = a**3 + 2 * a
            out.backward()
            print("dy/da =", a.grad.item())
            assert a.grad.item() == 14.0
            """
        ),
        md(
            """
            ## 1.4 손으로 쓴 학습 루프

            순전파 -> 손실 -> `backward()` -> `optimizer.step()`. 은닉층 하나짜리 MLP를 3 에폭 학습합니다.
            """
        ),
        code(
            """
            from torch import nn

            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            loss_fn = nn.CrossEntropyLoss()

            losses = []
            for epoch in range(3):
                order = torch.randperm(len(flat))
                for start in range(0, len(flat), 64):
                    batch = order[start : start + 64]
                    loss = loss_fn(model(flat[batch]), y[batch])  # 순전파와 손실
                    optimizer.zero_grad()
                    loss.backward()  # 자동 미분으로 기울기 계산
                    optimizer.step()  # 가중치 갱신
                    losses.append(loss.item())
                print(f"에폭 {epoch + 1}: 마지막 배치 손실 {losses[-1]:.3f}")

            x_test = torch.tensor(data.test_pixels, dtype=torch.float32).reshape(len(data.test_pixels), -1) / 255.0
            with torch.no_grad():
                hand_accuracy = (model(x_test).argmax(-1) == torch.tensor(data.test_labels)).float().mean().item()
            print(f"직접 쓴 루프의 테스트 정확도: {hand_accuracy:.3f}")
            """
        ),
        code(
            """
            from matplotlib.figure import Figure

            from seqlab.viz.fonts import apply_font

            fig = Figure(figsize=(6, 3))
            ax = fig.add_subplot()
            ax.plot(losses, linewidth=0.8)
            ax.set(title="직접 쓴 학습 루프의 손실", xlabel="스텝", ylabel="교차 엔트로피")
            show(apply_font(fig))  # apply_font: 이 그림의 글자에 한글 글꼴을 지정
            """
        ),
        md(
            """
            ## 1.5 같은 일을 `seqlab.train`으로

            레시피 `fashion-mlp`(784-512-256-10, LayerNorm, 드롭아웃, AdamW)를 불러와 설정을 덮어써서
            예산을 줄입니다. 학습 결과는 실행 폴더(run directory)에 모두 남습니다.
            """
        ),
        code(
            """
            config = seqlab.load_config(
                "fashion-mlp",
                overrides=QUICK
                + [
                    "data.limit=3000",
                    "train.max_steps=150",
                    "train.max_time=60s",
                    "train.eval_every=50",
                    "train.checkpoint_every=150",
                ],
            )
            print(config.model)
            run = seqlab.train(config, run_dir=WORK / "fashion-mlp", console=console)
            """
        ),
        code(
            """
            from seqlab.viz import plot_curves

            print(sorted(p.name for p in run.run_dir.iterdir()))
            show(plot_curves(run.metrics()))
            results = run.evaluate()
            print(f"seqlab.train 테스트 정확도: {results['test']['accuracy']:.3f} (직접 쓴 루프: {hand_accuracy:.3f})")
            """
        ),
        code(
            """
            # 실행 폴더에서 다시 불러와 예측하기: 저장된 것은 TOML, JSON, safetensors뿐입니다 (pickle 없음)
            loaded = seqlab.load(run.run_dir)
            predictions = loaded.predict(list(data.test_pixels[:8]))
            for prediction, label in zip(predictions, data.test_labels[:8]):
                truth = data.classes[int(label)]
                print(f"예측 {prediction.label:<12} (확률 {prediction.probability:.2f}) | 정답 {truth}")
            """
        ),
        md(
            """
            ## 정리

            - 텐서는 모양(shape)이 전부입니다: `(N, H, W)` -> `(N, 784)` -> `(N, 10)`.
            - `loss.backward()`가 기울기를, `optimizer.step()`이 갱신을 맡습니다.
            - `seqlab.train`은 같은 루프에 검증, 체크포인트(정확한 재개), 기록, 그림을 더합니다.
              명령줄에서는 `seqlab train fashion-mlp --set train.max_steps=150`.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 2. tokenization and embeddings

CH02 = Notebook(
    "02_tokenization_embeddings",
    "2장. 토큰화, 패딩, 임베딩",
    (
        md(
            """
            # 2장. 토큰화, 패딩, 임베딩

            글자를 숫자로 바꾸는 과정입니다. `seqlab.text.Tokenizer`와 `pad_sequences`는 Keras의 예전
            API와 **똑같이** 동작하므로 Keras 강의 노트북의 코드를 그대로 쓸 수 있습니다.

            - 데이터: Rotten Tomatoes 영화평(영어), chatterbot 한국어 대화
            - 한국어 토큰화: 음절, 자모, 형태소(kiwipiepy), BPE
            - 임베딩: `nn.Embedding`과 MiniLM의 사전학습 단어 조각 벡터
            """
        ),
        setup("02"),
        md("## 2.1 Keras 방식의 `Tokenizer`"),
        code(
            """
            from seqlab.data import load_dataset
            from seqlab.text import Tokenizer, pad_sequences

            reviews = load_dataset("rotten-tomatoes", limit=3000)
            print(len(reviews.texts), "개 영화평, 예:", reviews.texts[0])

            tokenizer = Tokenizer(num_words=2000, oov_token="<OOV>")  # 자주 나온 1,999개 단어만 번호로
            tokenizer.fit_on_texts(reviews.texts)
            print("단어 수:", len(tokenizer.word_index))
            print("가장 흔한 단어:", list(tokenizer.word_index.items())[:10])
            """
        ),
        code(
            """
            examples = ["A gripping, beautifully acted film.", "The plot is a zzzyzx mess."]
            sequences = tokenizer.texts_to_sequences(examples)
            print("번호 열:", sequences)  # 모르는 단어는 <OOV> = 1
            print("되돌리기:", tokenizer.sequences_to_texts(sequences))
            """
        ),
        md(
            """
            ## 2.2 패딩과 자르기

            배치는 직사각형이어야 하므로 짧은 문장은 0으로 채우고(padding) 긴 문장은 자릅니다(truncating).
            Keras의 기본값은 둘 다 **앞쪽**(`"pre"`)입니다.
            """
        ),
        code(
            """
            for padding, truncating in [("pre", "pre"), ("post", "post")]:
                padded = pad_sequences(sequences, maxlen=6, padding=padding, truncating=truncating)
                print(f"padding={padding!r}, truncating={truncating!r}:")
                print(padded)
            """
        ),
        md(
            """
            ## 2.3 한국어 토큰화

            띄어쓰기 단위(어절)로 자르면 조사가 붙은 말이 모두 다른 단어가 되어 모르는 단어가 많아집니다.
            seqlab에는 음절, 자모, 형태소(kiwipiepy), BPE 토크나이저가 있습니다.
            """
        ),
        code(
            """
            from seqlab.text import build_tokenizer

            chat = load_dataset("chatterbot")
            korean = [text for text in chat.sources + chat.targets if any("가" <= ch <= "힣" for ch in text)]
            print(len(korean), "개 한국어 문장, 예:", korean[:3])

            sentence = "셰익스피어의 4대 비극은 무엇인가요?"
            for name in ["syllable", "jamo", "morpheme"]:
                tok = build_tokenizer(name, korean)
                print(f"{name:>8} (어휘 {tok.vocab_size:>4}개): {tok.tokenize(sentence)}")
            bpe = build_tokenizer("bpe", korean, vocab_size=500)  # 바이트 단위 BPE: 한 음절이 3바이트
            ids = bpe.encode(sentence)
            print(f"     bpe (어휘 {bpe.vocab_size}개): {len(ids)}개 토큰, 되돌리기: {bpe.decode(ids)}")

            keras_ko = Tokenizer(oov_token="<OOV>")
            keras_ko.fit_on_texts(korean)
            print("어절 단위 Keras Tokenizer:", keras_ko.texts_to_sequences([sentence]), "(1 = 모르는 단어)")
            """
        ),
        md(
            """
            ## 2.4 임베딩: 번호를 벡터로

            `nn.Embedding(V, E)`는 `(B, T)` 번호를 `(B, T, E)` 벡터로 바꾸는 표(V x E 행렬)일 뿐입니다.
            `padding_idx=0`이면 패딩 자리의 벡터는 0이고 학습되지 않습니다.
            """
        ),
        code(
            """
            from torch import nn

            ids = torch.tensor(pad_sequences(sequences, maxlen=8, padding="post"), dtype=torch.long)  # (B, T)
            embedding = nn.Embedding(2000, 8, padding_idx=0)
            vectors = embedding(ids)  # (B, T, E)
            print("ids", tuple(ids.shape), "->", tuple(vectors.shape))
            print("패딩 자리의 벡터:", vectors[0, -1].tolist())
            """
        ),
        md(
            """
            ## 2.5 사전학습 임베딩: MiniLM 단어 조각 벡터

            `minilm` 데이터셋은 all-MiniLM-L6-v2의 단어 조각 임베딩(30,522 x 384)입니다. 비슷한 뜻의 단어는
            코사인 유사도가 큽니다. 분류기에서는 `model.pretrained_embeddings = "minilm"`으로 씁니다(4장).
            """
        ),
        code(
            """
            from seqlab.data.vectors import load_vectors
            from seqlab.viz import plot_heatmap

            minilm = load_vectors("minilm")
            pieces = build_tokenizer("minilm", [])
            matrix = torch.tensor(minilm.matrix)
            unit = matrix / matrix.norm(dim=1, keepdim=True)
            print("임베딩 행렬:", tuple(matrix.shape))


            def neighbours(word, k=5):
                (index,) = pieces.encode(word)
                scores = unit @ unit[index]
                best = scores.topk(k + 1).indices.tolist()[1:]
                return [pieces.id_to_token(i) for i in best]


            for word in ["good", "terrible", "movie", "actor"]:
                print(f"{word:>9}: {neighbours(word)}")

            words = ["good", "great", "bad", "terrible", "movie", "film"]
            ids = [pieces.encode(word)[0] for word in words]
            similarity = (unit[ids] @ unit[ids].T).numpy()
            show(plot_heatmap(similarity.round(2), xlabels=words, ylabels=words, title="단어 사이의 코사인 유사도"))
            """
        ),
        md(
            """
            ## 정리

            - `Tokenizer`와 `pad_sequences`는 Keras와 같은 결과를 냅니다 (`padding`, `truncating`의 기본값은 `"pre"`).
            - 한국어는 어절보다 음절, 자모, 형태소, BPE가 모르는 단어를 줄입니다:
              레시피의 `data.tokenizer = "syllable"` 등으로 고릅니다.
            - 임베딩은 번호를 벡터로 바꾸는 표이고, 사전학습 벡터로 시작할 수도 있습니다.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 3. RNN, LSTM, GRU gates

CH03 = Notebook(
    "03_rnn_lstm_gru_gates",
    "3장. RNN, LSTM, GRU: 게이트와 파라미터 수",
    (
        md(
            r"""
            # 3장. RNN, LSTM, GRU: 게이트와 파라미터 수

            순환 층 세 가지를 식 그대로 살펴보고, 실제 셰익스피어 텍스트로 학습한 LSTM 안에서 게이트가
            글자마다 어떻게 열리고 닫히는지 **게이트 기록기**(`record_gates`)로 들여다봅니다.

            LSTM 한 스텝 (B 배치, H 은닉 크기):

            $$i_t = \sigma(W_{ii} x_t + W_{hi} h_{t-1} + b_i),\quad f_t = \sigma(W_{if} x_t + W_{hf} h_{t-1} + b_f)$$
            $$g_t = \tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g),\quad o_t = \sigma(W_{io} x_t + W_{ho} h_{t-1} + b_o)$$
            $$c_t = f_t \odot c_{t-1} + i_t \odot g_t,\qquad h_t = o_t \odot \tanh(c_t)$$

            GRU는 리셋 $r_t$, 업데이트 $z_t$, 후보 $n_t$의 3개 블록, SimpleRNN은 $h_t = \tanh(W x_t + U h_{t-1} + b)$
            1개 블록입니다.
            """
        ),
        setup("03"),
        md(
            """
            ## 3.1 파라미터 수: 왜 LSTM은 RNN의 4배인가

            블록마다 입력 가중치(H x E), 순환 가중치(H x H), 편향이 있습니다. PyTorch는 편향을 두 개
            (`b_ih`, `b_hh`), Keras는 SimpleRNN과 LSTM에서 하나를 둡니다.
            """
        ),
        code(
            """
            from seqlab.layers import GRU, LSTM, SimpleRNN, parameter_count_formula

            for name, layer_class in [("rnn", SimpleRNN), ("lstm", LSTM), ("gru", GRU)]:
                layer = layer_class(64, 128)
                counted = sum(p.numel() for p in layer.parameters())
                formula = parameter_count_formula(name, 64, 128)
                keras = parameter_count_formula(name, 64, 128, bias="keras")
                assert counted == formula.count
                print(f"{layer_class.__name__:>9}: {formula.text}  | Keras: {keras.count:,}")
            """
        ),
        code(
            """
            # Keras의 model.summary()와 같은 표: 층마다 출력 모양과 파라미터 수
            from torch import nn

            model = nn.Sequential(nn.Embedding(1000, 64), LSTM(64, 128, return_sequences=True), GRU(128, 64))
            table = seqlab.summary(model, torch.zeros(2, 10, dtype=torch.long), console=console)
            """
        ),
        md(
            """
            ## 3.2 식 그대로의 셀(`impl="scratch"`)과 빠른 커널(`impl="fused"`)

            두 구현은 같은 가중치 이름과 배치를 쓰므로 `state_dict` 하나를 서로 나눠 쓰고, 출력이 1e-5 안에서
            같습니다. 게이트를 기록할 때는 식 그대로의 셀이 돌아갑니다.
            """
        ),
        code(
            """
            torch.manual_seed(0)
            fused = LSTM(8, 16, return_sequences=True)
            scratch = LSTM(8, 16, return_sequences=True, impl="scratch")
            scratch.load_state_dict(fused.state_dict())
            x = torch.randn(2, 5, 8)  # (B, T, E)
            difference = (fused(x) - scratch(x)).abs().max().item()
            print("가중치 이름:", list(fused.state_dict()))
            print(f"두 구현의 최대 차이: {difference:.2e}")
            assert difference < 1e-5
            """
        ),
        md(
            """
            ## 3.3 실제 텍스트로 학습한 LSTM의 게이트

            레시피 `shakespeare-char`(글자 단위 LSTM 언어 모델)를 작은 예산으로 학습합니다:
            셰익스피어 희곡의 처음 30만 글자, 은닉 크기 128, 250 스텝.
            """
        ),
        code(
            """
            config = seqlab.load_config(
                "shakespeare-char",
                overrides=QUICK
                + [
                    "data.limit=300000",
                    "data.block_size=64",
                    "model.hidden_size=128",
                    "train.precision=fp32",
                    "train.max_steps=250",
                    "train.max_time=90s",
                    "train.warmup_steps=20",
                    "train.eval_every=125",
                    "train.eval_batches=5",
                    "train.checkpoint_every=250",
                    "sample.max_tokens=120",
                ],
            )
            run = seqlab.train(config, run_dir=WORK / "char-lstm", console=console)
            """
        ),
        code(
            """
            from seqlab.layers import record_gates
            from seqlab.viz import plot_gates

            text = "ROMEO: But soft, what light"
            inspection = run.inspect(text, out_dir=WORK / "inspect")
            for path, gates in inspection.gates.items():
                print(path, {name: tuple(values.shape) for name, values in gates.items()})  # (T, H)
            path, gates = next(iter(inspection.gates.items()))
            panels = {name: gates[name].numpy() for name in ["input", "forget", "output"]}
            panels["hidden_norm"] = inspection.hidden_norms[path].numpy()
            show(plot_gates(panels, inspection.tokens, title="LSTM 게이트: 글자마다 열리고 닫히는 문", max_units=32))
            """
        ),
        code(
            """
            # 직접 기록하기: with record_gates(model) as trace 안에서 모델을 한 번 실행합니다
            ids = torch.tensor([run.tokenizer.encode(text)])  # (1, T)
            with torch.no_grad(), record_gates(run.model) as trace:
                logits, _ = run.model(ids)
            forget = trace[path]["forget"][0]  # (T, H)
            for token, value in zip(inspection.tokens, forget.mean(-1).tolist()):
                print(f"{token!r:>6}  forget 평균 {value:.2f}  " + "#" * int(value * 40))
            """
        ),
        md(
            """
            ## 정리

            - 파라미터 수는 `블록 수 x (H*E + H*H + 편향)`: RNN 1, GRU 3, LSTM 4 블록.
            - `record_gates`는 학습된 모델의 가중치 그대로 게이트 값을 `(B, T, H)`로 기록합니다.
            - 명령줄: `seqlab summary shakespeare-char`, `seqlab inspect RUN "To be"`.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 4. classification and generation

CH04 = Notebook(
    "04_text_classification_generation",
    "4장. 텍스트 분류와 텍스트 생성",
    (
        md(
            """
            # 4장. 텍스트 분류와 텍스트 생성

            같은 순환 층이 두 가지 일을 합니다.

            1. **분류**: 영화평(Rotten Tomatoes)이 호평(fresh)인지 혹평(rotten)인지, 양방향 LSTM으로.
            2. **생성**: 셰익스피어 희곡을 글자 단위 GRU로 배워서 이어 쓰기, 온도(temperature)와 top-k/top-p로.
            """
        ),
        setup("04"),
        md(
            """
            ## 4.1 감성 분류: 양방향 LSTM

            레시피 `rotten-tomatoes-bilstm`을 줄인 예산(300 스텝)으로 학습합니다.
            """
        ),
        code(
            """
            config = seqlab.load_config(
                "rotten-tomatoes-bilstm",
                overrides=QUICK
                + [
                    "data.vocab_size=10000",
                    "model.embed_dim=64",
                    "model.hidden_size=64",
                    "train.max_steps=300",
                    "train.max_time=90s",
                    "train.eval_every=100",
                    "train.checkpoint_every=300",
                    "train.early_stopping=0",
                    "train.final_eval_batches=0",
                ],
            )
            print(seqlab.load_config("rotten-tomatoes-bilstm").model)
            classifier = seqlab.train(config, run_dir=WORK / "sentiment", console=console)
            """
        ),
        code(
            """
            reviews = [
                "a gripping, beautifully acted film",
                "a dull, lifeless mess that never finds its story",
                "funny, warm and surprisingly moving",
            ]
            for review, prediction in zip(reviews, classifier.predict(reviews)):
                print(f"{prediction.label:>6} ({prediction.probability:.2f})  {review}")
            display(Image(filename=str(classifier.run_dir / "confusion.png"), width=360))
            """
        ),
        code(
            """
            # 분류기 안의 게이트: 문장을 읽는 동안 양방향 LSTM의 상태
            inspection = classifier.inspect(reviews[0], out_dir=WORK / "inspect")
            print("토큰:", inspection.tokens)
            print("모델이 읽는 줄(패딩 포함):", inspection.padded[:12], "...")
            print("클래스 확률:", {k: round(v, 3) for k, v in inspection.outputs.items()})
            """
        ),
        md(
            """
            ## 4.2 텍스트 생성: 글자 단위 GRU

            `model.cell=gru`로 셀만 바꿉니다. 학습이 끝나면 `run.sample`이 글자를 하나씩 흘려보냅니다(스트리밍).
            """
        ),
        code(
            """
            config = seqlab.load_config(
                "shakespeare-char",
                overrides=QUICK
                + [
                    "model.cell=gru",
                    "model.hidden_size=192",
                    "data.limit=500000",
                    "data.block_size=64",
                    "train.precision=fp32",
                    "train.max_steps=400",
                    "train.max_time=90s",
                    "train.warmup_steps=20",
                    "train.eval_every=200",
                    "train.eval_batches=5",
                    "train.checkpoint_every=400",
                    "sample.max_tokens=100",
                ],
            )
            writer = seqlab.train(config, run_dir=WORK / "char-gru", console=console)
            """
        ),
        md(
            """
            ## 4.3 온도, top-k, top-p

            온도가 낮으면 가장 그럴듯한 글자만 고르고(반복적), 높으면 무작위해집니다. top-k는 확률이 큰 k개 중에서,
            top-p는 누적 확률 p까지의 후보 중에서 고릅니다. `seed`를 주면 같은 글이 다시 나옵니다.
            """
        ),
        code(
            """
            for settings in [
                {"temperature": 0.2},
                {"temperature": 0.8},
                {"temperature": 1.5},
                {"temperature": 0.8, "top_k": 5},
                {"temperature": 0.8, "top_p": 0.9},
            ]:
                text = "".join(writer.sample("ROMEO:", max_tokens=80, seed=0, **settings))
                print(f"--- {settings}\\nROMEO:{text}\\n")

            again = "".join(writer.sample("ROMEO:", max_tokens=80, seed=0, temperature=0.8))
            assert again == "".join(writer.sample("ROMEO:", max_tokens=80, seed=0, temperature=0.8))
            """
        ),
        md(
            """
            ## 정리

            - 분류: `seqlab train rotten-tomatoes-bilstm`, `seqlab predict RUN "text"`.
            - 생성: `seqlab train shakespeare-char --set model.cell=gru`,
              `seqlab sample RUN --prompt "ROMEO:" --temperature 0.8 --top-p 0.9`.
            - 더 오래 학습할수록(레시피의 기본 예산은 5분) 생성된 글이 희곡처럼 보입니다.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 5. seq2seq and attention

CH05 = Notebook(
    "05_seq2seq_attention",
    "5장. seq2seq, 교사 강요, 어텐션 히트맵",
    (
        md(
            """
            # 5장. seq2seq, 교사 강요(teacher forcing), 어텐션 히트맵

            인코더가 입력 문장을 읽고, 디코더가 출력 문장을 한 토큰씩 씁니다. 이 장의 과제는 **한국어 수사를
            숫자로** 바꾸기입니다: `천구백팔십칠 -> 1987`. 데이터는 num2words가 만든 정확한 쌍이고, 검증과
            테스트의 수는 학습 때 본 적이 없습니다.

            - 레시피: `num2words-ko` (양방향 GRU 인코더 + Bahdanau 어텐션 디코더, 글자 단위)
            - 예산: 작은 모델, 600 스텝
            """
        ),
        setup("05"),
        code(
            """
            from seqlab.data import load_dataset

            pairs = load_dataset("num2words-ko", limit=5)
            for number, words in zip(pairs.sources, pairs.targets):
                print(f"{number:>8} <- {words}")  # 레시피는 data.reverse = true: 한국어 -> 숫자
            """
        ),
        md(
            """
            ## 5.1 교사 강요

            학습할 때 디코더의 다음 입력으로 **정답 토큰**을 넣는 것이 교사 강요입니다(`model.teacher_forcing = 1.0`).
            0.5면 절반은 모델 자신의 예측을 넣고, `teacher_forcing_schedule = "linear"`는 학습이 진행될수록
            비율을 낮춥니다. 추론 때는 언제나 자신의 예측을 넣습니다.
            """
        ),
        code(
            """
            config = seqlab.load_config(
                "num2words-ko",
                overrides=QUICK
                + [
                    "model.embed_dim=32",
                    "model.hidden_size=96",
                    "data.eval_examples=200",
                    "data.samples=4",
                    "train.batch_size=64",
                    "train.max_steps=600",
                    "train.max_time=100s",
                    "train.warmup_steps=50",
                    "train.eval_every=300",
                    "train.eval_batches=5",
                    "train.checkpoint_every=600",
                ],
            )
            print(config.model)
            run = seqlab.train(config, run_dir=WORK / "num2words", console=console)
            """
        ),
        md(
            """
            ## 5.2 번역: 탐욕 탐색과 빔 탐색

            `predict`는 한 토큰씩 가장 그럴듯한 것을 고르거나(탐욕), `beam_width`개의 후보를 함께 키웁니다(빔).
            """
        ),
        code(
            """
            questions = ["천구백팔십칠", "삼만 오천이백", "구십구"]
            greedy = run.predict(questions, beam_width=1)
            beam = run.predict(questions, beam_width=4, n_best=2)
            for one, best in zip(greedy, beam):
                print(f"{one.source:>10} -> 탐욕: {one.text:<8} 빔(4): {best.text:<8} 후보: {best.alternatives}")
            """
        ),
        md(
            """
            ## 5.3 어텐션 히트맵

            출력 숫자 하나를 쓸 때 디코더가 입력의 어느 글자를 보았는지입니다. `천`을 쓸 자리에서 `천`을,
            `구백`을 쓸 자리에서 `구백`을 보면 어텐션이 정렬(alignment)을 배운 것입니다.
            """
        ),
        code(
            """
            from seqlab.viz import plot_attention

            view = run.inspect("천구백팔십칠", out_dir=WORK / "inspect")
            print("번역:", view.translation, "| 가중치:", tuple(view.weights.shape), "(출력 토큰, 입력 토큰)")
            show(plot_attention(view.weights, view.source_tokens, view.target_tokens, title="천구백팔십칠 -> 숫자"))
            """
        ),
        md(
            """
            ## 정리

            - `seqlab train num2words-ko`는 전체 예산(약 8분)으로 거의 모든 수를 맞힙니다.
            - 어텐션 종류는 `model.attention = "bahdanau" | "luong-dot" | "luong-general" | "luong-concat" | "none"`.
              영어-한국어 번역은 `en-ko-attention`, `en-ko-luong`, `en-ko-no-attention` 레시피로 비교합니다.
            - 명령줄: `seqlab predict RUN "천구백팔십칠" --beam 4`, `seqlab inspect RUN "천구백팔십칠"`.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 6. the Transformer

CH06 = Notebook(
    "06_transformer",
    "6장. 트랜스포머",
    (
        md(
            r"""
            # 6장. 트랜스포머

            순환 없이 **어텐션만으로** 시퀀스를 읽습니다.

            $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d}} + M\right) V$$

            언어 모델에서는 마스크 $M$이 미래 위치를 $-\infty$로 막습니다(causal). 순서 정보는 위치 인코딩이 줍니다.
            이 장에서는 위치 인코딩과 멀티헤드 어텐션을 살펴보고, 글자 단위 트랜스포머 언어 모델
            (`shakespeare-transformer`)을 작게 학습해 그 어텐션을 봅니다.
            """
        ),
        setup("06"),
        md("## 6.1 사인파 위치 인코딩"),
        code(
            """
            from seqlab.layers import MultiHeadAttention, SinusoidalPositions
            from seqlab.viz import plot_heatmap

            positions = SinusoidalPositions(32, max_len=64)
            table = positions(torch.zeros(1, 64, 32))[0]  # (T, E): 0에 더했으니 인코딩 자체
            show(plot_heatmap(table.numpy(), title="사인파 위치 인코딩 (행: 위치, 열: 차원)", cmap="RdBu"))
            """
        ),
        md("## 6.2 멀티헤드 어텐션과 인과 마스크"),
        code(
            """
            torch.manual_seed(0)
            attention = MultiHeadAttention(16, 4)
            x = torch.randn(1, 6, 16)  # (B, T, E)
            output, weights, _ = attention(x, causal=True)
            print("출력", tuple(output.shape), "| 가중치", tuple(weights.shape), "(B, 헤드, T, T)")
            print("첫 헤드의 가중치 (위치 t는 t 이후를 보지 못합니다):")
            print(weights[0, 0].detach().numpy().round(2))
            """
        ),
        md("## 6.3 글자 단위 트랜스포머 언어 모델"),
        code(
            """
            config = seqlab.load_config(
                "shakespeare-transformer",
                overrides=QUICK
                + [
                    "data.limit=500000",
                    "data.block_size=64",
                    "model.embed_dim=64",
                    "model.num_heads=4",
                    "model.num_layers=2",
                    "model.dropout=0.0",
                    "train.max_steps=400",
                    "train.max_time=100s",
                    "train.warmup_steps=40",
                    "train.eval_every=200",
                    "train.eval_batches=5",
                    "train.checkpoint_every=400",
                    "sample.max_tokens=100",
                ],
            )
            run = seqlab.train(config, run_dir=WORK / "char-transformer", console=console)
            """
        ),
        code(
            """
            table = seqlab.summary(run.model, torch.zeros(1, 64, dtype=torch.long), console=console)
            print("".join(run.sample("JULIET:", max_tokens=120, temperature=0.8, seed=0)))
            """
        ),
        md(
            """
            ## 6.4 학습된 모델의 어텐션

            PyTorch의 forward hook으로 첫 블록의 self-attention 가중치를 꺼냅니다. 학습과 생성은 가중치를
            만들지 않는 융합 커널(`scaled_dot_product_attention`)을 쓰므로, `keep_weights = True`로 이 층이
            가중치를 계산해 돌려주게 합니다. 아래쪽 삼각형만 값이 있는 것이 인과 마스크입니다.
            """
        ),
        code(
            """
            captured = {}
            block = run.model.blocks[0].self_attn
            block.keep_weights = True  # 이 층은 가중치를 계산해 돌려줍니다
            hook = block.register_forward_hook(lambda module, args, output: captured.update(weights=output[1]))
            text = "ROMEO: But soft, what light"
            ids = torch.tensor([run.tokenizer.encode(text)])
            with torch.no_grad():
                run.model(ids)
            hook.remove()
            block.keep_weights = False
            weights = captured["weights"][0]  # (헤드, T, T)
            tokens = [run.tokenizer.id_to_token(i) for i in ids[0].tolist()]
            show(plot_heatmap(weights[0].numpy(), xlabels=tokens, ylabels=tokens, title="첫 블록, 첫 헤드의 어텐션"))
            """
        ),
        md(
            """
            ## 정리

            - 트랜스포머는 `model.arch = "transformer"`: 언어 모델(`shakespeare-transformer`),
              번역(`en-ko-transformer`), 시계열(`sunspots-transformer`)에 같은 블록을 씁니다.
            - 생성할 때는 KV 캐시로 이전 위치의 키와 값을 다시 계산하지 않습니다.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 7. time series

CH07 = Notebook(
    "07_time_series",
    "7장. 시계열 예측",
    (
        md(
            """
            # 7장. 시계열 예측

            과거 `input_len` 걸음을 읽고 다음 `horizon` 걸음을 한 번에 예측합니다(다중 스텝, direct). 순환 모델은
            언제나 **단순한 기준선**(마지막 값, 작년 같은 때의 값, 이동 평균)과 비교해야 의미가 있습니다.

            - 데이터: 국제선 항공 승객 수(1949-1960, 월별), 마우나로아 CO2(주별)
            - 레시피: `air-passengers-gru`, `co2-lstm`
            """
        ),
        setup("07"),
        code(
            """
            from seqlab.data.series import load_series
            from seqlab.viz.forecast import plot_decomposition, plot_series

            passengers = load_series("air-passengers")
            print(len(passengers), "개월, 열:", passengers.columns, "| 처음:", passengers.times[:3])
            months = np.array(passengers.times, dtype="datetime64[M]")  # 글자 대신 날짜: 축 눈금이 제대로 나옵니다
            show(plot_series(months, passengers.values[:, 0], title="월별 항공 승객 수 (천 명)"))
            """
        ),
        md(
            """
            ## 7.1 GRU로 12개월 예측

            훈련/검증/테스트는 **시간 순서대로** 나눕니다(미래로 과거를 예측하지 않도록). 스케일러는 훈련 부분에만
            맞춥니다.
            """
        ),
        code(
            """
            config = seqlab.load_config(
                "air-passengers-gru",
                overrides=QUICK + ["train.max_steps=400", "train.max_time=60s", "train.eval_every=50"],
            )
            print(config.data)
            run = seqlab.train(config, run_dir=WORK / "air-passengers", console=console)
            """
        ),
        code(
            """
            # 학습이 그린 그림들: 테스트 구간의 예측과 기준선, 예측 거리별 오차
            display(Image(filename=str(run.run_dir / "forecast.png"), width=640))
            display(Image(filename=str(run.run_dir / "horizon.png"), width=480))
            """
        ),
        code(
            """
            # 데이터 끝 다음 12개월: 정답이 없는 진짜 예측
            from seqlab.viz.forecast import plot_forecast

            forecast = run.forecast()
            print(forecast.columns, forecast.values.shape)
            for time, value in list(zip(forecast.times, forecast.values[:, 0]))[:6]:
                print(time, round(float(value), 1))

            history = forecast.history
            show(
                plot_forecast(
                    history.times[-36:],
                    history.values[-36:, 0],
                    forecast.times,
                    forecast.values[:, 0],
                    title="항공 승객 수: 다음 12개월 예측",
                    ylabel="천 명",
                )
            )
            """
        ),
        md(
            """
            ## 7.2 CO2: 추세와 계절성

            주별 CO2 농도는 꾸준한 추세와 1년(52주) 주기가 겹친 시계열입니다.
            """
        ),
        code(
            """
            co2 = load_series("co2")
            weeks = np.array(co2.times, dtype="datetime64[D]")
            show(plot_decomposition(weeks, co2.values[:, 0], season=52, title="CO2: 추세와 계절 성분"))
            config = seqlab.load_config(
                "co2-lstm",
                overrides=QUICK + ["train.max_steps=100", "train.max_time=60s", "train.eval_every=50"],
            )
            co2_run = seqlab.train(config, run_dir=WORK / "co2", console=console)
            display(Image(filename=str(co2_run.run_dir / "forecast.png"), width=640))
            """
        ),
        md(
            """
            ## 정리

            - 예측 결과는 언제나 naive, seasonal-naive, 이동 평균 기준선과 함께 표로 나옵니다(`summary.md`).
            - 명령줄: `seqlab train co2-lstm`, `seqlab forecast RUN`.
            - 다른 구조: `electricity-conv-lstm`(Conv1D + LSTM), `sunspots-transformer`.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 8. MLP on Fashion-MNIST

CH08 = Notebook(
    "08_mlp_fashion_mnist",
    "8장. Fashion-MNIST의 MLP: 드롭아웃, 가중치 감쇠, LayerNorm, Adam",
    (
        md(
            """
            # 8장. Fashion-MNIST의 MLP: 드롭아웃, 가중치 감쇠, LayerNorm, Adam

            같은 MLP에 규제(regularization)와 정규화(normalization)를 하나씩 더해 봅니다. 작은 학습 데이터(5,000장)에서
            오래 학습하면 과적합이 보이도록 예산을 잡았습니다.

            - 레시피: `fashion-mlp` (784-512-256-10)
            """
        ),
        setup("08"),
        md(
            """
            ## 8.0 무엇을 바꾸나

            - **Adam / AdamW**: 파라미터마다 기울기의 이동 평균과 크기로 걸음을 조절합니다.
              SGD보다 학습률에 덜 민감합니다.
            - **드롭아웃**(`model.dropout`): 학습 때 은닉 단위를 무작위로 끕니다. 한 단위에 기대지 못하게 해서 과적합을
              줄입니다. 평가 때는 모두 켭니다.
            - **가중치 감쇠**(`train.weight_decay`, AdamW): 매 스텝 가중치를 조금씩 0 쪽으로 당깁니다.
            - **LayerNorm**(`model.norm = "layer"`): 층의 출력을 예제마다 평균 0, 분산 1로 맞춰 깊은 망의 학습을
              안정시킵니다. `"batch"`는 배치 정규화입니다.
            """
        ),
        code(
            """
            base = [
                *QUICK,
                "data.limit=5000",
                "train.max_steps=400",
                "train.max_time=60s",
                "train.eval_every=50",
                "train.checkpoint_every=400",
                "train.schedule=constant",
            ]
            plain = ["model.dropout=0.0", "model.norm=none", "train.weight_decay=0.0"]
            variants = {
                "SGD, 규제 없음": ["train.optimizer=sgd", "train.lr=0.05", *plain],
                "Adam, 규제 없음": ["train.optimizer=adam", *plain],
                "Adam + LayerNorm + 드롭아웃 + 가중치 감쇠": [],  # 레시피 그대로: AdamW, LayerNorm, dropout 0.3
            }
            runs = {}
            for name, overrides in variants.items():
                config = seqlab.load_config("fashion-mlp", overrides=base + overrides)
                print(f"== {name}: {config.train.optimizer}, norm={config.model.norm}, dropout={config.model.dropout}")
                runs[name] = seqlab.train(config, run_dir=WORK / f"mlp-{len(runs)}", console=Console(quiet=True))
            """
        ),
        code(
            """
            from matplotlib.figure import Figure

            from seqlab.viz.fonts import apply_font

            fig = Figure(figsize=(10, 3.5))
            loss_ax, accuracy_ax = fig.subplots(1, 2)
            for name, run in runs.items():
                rows = [row for row in run.metrics() if "val_loss" in row]
                steps = [row["step"] for row in rows]
                loss_ax.plot(steps, [row["val_loss"] for row in rows], marker="o", label=name)
                accuracy_ax.plot(steps, [row["val_accuracy"] for row in rows], marker="o", label=name)
            loss_ax.set(title="검증 손실", xlabel="스텝")
            accuracy_ax.set(title="검증 정확도", xlabel="스텝")
            accuracy_ax.legend(fontsize=8)
            show(apply_font(fig))
            for name, run in runs.items():
                test = run.evaluate()["test"]
                print(f"{name:<35} 테스트 정확도 {test['accuracy']:.3f}  손실 {test['loss']:.3f}")
            """
        ),
        md(
            """
            ## 8.1 틀린 예측 들여다보기

            학습이 끝나면 혼동 행렬(`confusion.png`)과 틀린 이미지(`misclassified.png`)가 실행 폴더에 남습니다.
            셔츠, 티셔츠, 풀오버, 코트가 서로 헷갈립니다.
            """
        ),
        code(
            """
            best = runs["Adam + LayerNorm + 드롭아웃 + 가중치 감쇠"]
            display(Image(filename=str(best.run_dir / "confusion.png"), width=480))
            display(Image(filename=str(best.run_dir / "misclassified.png"), width=640))
            """
        ),
        md(
            """
            ## 정리

            - Adam은 같은 스텝에서 SGD보다 빨리 내려가고, 드롭아웃과 가중치 감쇠는 검증 손실이 다시 오르는 것을
              늦춥니다.
            - 명령줄: `seqlab train fashion-mlp --set model.norm=batch --set model.dropout=0.5`.
            - 여러 설정을 한 번에 비교하는 방법은 11장(`seqlab compare`, `seqlab study`)에서 다룹니다.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 9. autoencoders and anomalies

CH09 = Notebook(
    "09_autoencoders_anomaly",
    "9장. 오토인코더와 이상 탐지",
    (
        md(
            """
            # 9장. 오토인코더와 이상 탐지

            오토인코더는 입력을 작은 코드 $z$로 줄였다가(인코더) 다시 펼칩니다(디코더). 학습 때 본 적 없는 종류의
            입력은 잘 복원하지 못하므로 **복원 오차**가 이상 점수가 됩니다.

            - 레시피: `fashion-ae`(기본 오토인코더), `fashion-anomaly`(바지 없이 학습해 바지를 찾기), `fashion-vae`
            """
        ),
        setup("09"),
        code(
            """
            from seqlab.data.images import load_images
            from seqlab.viz.images import plot_image_grid

            common = [*QUICK, "data.limit=6000", "train.max_time=60s", "train.eval_every=100"]
            common += ["train.checkpoint_every=400"]
            config = seqlab.load_config("fashion-ae", overrides=common + ["train.max_steps=400"])
            autoencoder = seqlab.train(config, run_dir=WORK / "ae", console=console)
            """
        ),
        code(
            """
            test = load_images("fashion-mnist", limit=16)
            originals = list(test.test_pixels[:8])
            reconstructions = autoencoder.predict(originals)
            rows = np.stack([image / 255.0 for image in originals] + list(reconstructions))
            show(plot_image_grid(rows, ncols=8, title="위: 원본, 아래: 32차원 코드에서 복원"))
            display(Image(filename=str(autoencoder.run_dir / "latent_map.png"), width=480))
            """
        ),
        md(
            """
            ## 9.1 이상 탐지: 한 번도 보지 못한 바지

            `data.holdout_class = "Trouser"`: 훈련과 검증에서 바지를 빼고 학습합니다. 테스트에서는 바지가
            양성(이상)입니다. 임계값은 훈련 점수에서 정합니다(최댓값, 99백분위수 등).
            """
        ),
        code(
            """
            config = seqlab.load_config("fashion-anomaly", overrides=common + ["train.max_steps=400"])
            detector = seqlab.train(config, run_dir=WORK / "anomaly", console=console)
            result = detector.anomaly(percentile=99.0)
            print(f"ROC-AUC {result.auc:.3f}")
            for name, (fpr, recall, precision, _) in result.points.items():
                print(f"임계값 {name:<16} 오탐률 {fpr:.3f}  재현율 {recall:.3f}  정밀도 {precision:.3f}")
            """
        ),
        code(
            """
            from matplotlib.figure import Figure

            from seqlab.metrics import roc_curve
            from seqlab.viz.fonts import apply_font

            fpr, tpr, _ = roc_curve(result.scores, result.positive)
            fig = Figure(figsize=(9, 3.5))
            roc_ax, hist_ax = fig.subplots(1, 2)
            roc_ax.plot(fpr, tpr)
            roc_ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
            roc_ax.set(title=f"ROC 곡선 (AUC {result.auc:.3f})", xlabel="오탐률", ylabel="재현율")
            bins = np.linspace(0, np.percentile(result.scores, 99.5), 40)
            hist_ax.hist(result.scores[result.positive == 0], bins=bins, alpha=0.6, label="정상 (다른 옷)")
            hist_ax.hist(result.scores[result.positive == 1], bins=bins, alpha=0.6, label="이상 (바지)")
            hist_ax.set(title="복원 오차 분포", xlabel="이상 점수")
            hist_ax.legend()
            show(apply_font(fig))
            """
        ),
        md(
            """
            ## 9.2 VAE: 코드 공간에서 새 이미지 뽑기

            VAE는 코드가 표준 정규분포를 따르도록 학습하므로 $z \\sim N(0, I)$를 디코더에 넣으면 새 이미지가 나옵니다.
            """
        ),
        code(
            """
            config = seqlab.load_config("fashion-vae", overrides=common + ["train.max_steps=400"])
            vae = seqlab.train(config, run_dir=WORK / "vae", console=Console(quiet=True))
            show(plot_image_grid(vae.generate(16, seed=0), ncols=8, title="VAE가 만든 이미지 16장"))
            """
        ),
        md(
            """
            ## 정리

            - 변형들: `fashion-deep-ae`(깊은), `fashion-sparse-ae`(희소), `fashion-dae`(잡음 제거), `fashion-vae`.
            - 시계열 이상 탐지: `co2-anomaly-ae`.
            - 명령줄: `seqlab anomaly RUN`, `seqlab generate RUN`.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 10. GANs

CH10 = Notebook(
    "10_gans",
    "10장. GAN: DCGAN, 조건부 GAN, CycleGAN, 스타일 기반 생성기",
    (
        md(
            """
            # 10장. GAN: DCGAN, 조건부 GAN, CycleGAN, 스타일 기반 생성기

            생성기(G)는 잡음에서 이미지를 만들고, 판별기(D)는 진짜와 가짜를 가립니다. 두 네트워크가 번갈아
            학습합니다(판별기 한 스텝, 생성기 한 스텝). seqlab은 이 2인 게임의 스텝을 학습 루프에 넘겨 같은 루프로
            학습하고, 재개도 정확히 됩니다.

            GAN의 손실만으로는 품질을 알기 어려우므로 seqlab은 **진짜 이미지로 학습한 분류기(judge)** 로 생성된
            이미지를 판정합니다: 클래스가 고르게 나오는지(coverage), 분류기가 확신하는지(confidence).

            - 레시피: `fashion-dcgan`, `fashion-cgan`, `fashion-cyclegan`(운동화 <-> 앵클부츠), `fashion-stylegan`
            - 예산: 각각 수백 스텝 (레시피의 기본 예산은 5분씩)
            """
        ),
        setup("10"),
        md("## 10.1 DCGAN"),
        code(
            """
            from seqlab.viz.images import plot_image_grid

            small = [*QUICK, "data.limit=4000", "model.judge_steps=100", "model.judge_samples=200"]
            small += ["train.eval_batches=1", "train.max_time=60s"]  # max_time: 느린 컴퓨터에서의 안전장치
            config = seqlab.load_config(
                "fashion-dcgan",
                overrides=small + ["train.max_steps=150", "train.eval_every=75", "train.checkpoint_every=150"],
            )
            dcgan = seqlab.train(config, run_dir=WORK / "dcgan", console=console)
            show(plot_image_grid(dcgan.generate(32, seed=0), ncols=16, title="DCGAN이 만든 옷 (150 스텝)"))
            """
        ),
        code(
            """
            # 학습 중 판별기의 출력: D(진짜)와 D(가짜)가 0.5 근처에서 밀고 당기면 균형이 맞는 것
            for row in dcgan.metrics():
                if row.get("split") == "val":
                    names = ["d_real", "d_fake", "loss_d", "loss_g", "coverage", "confident"]
                    print("스텝", row["step"], {name: round(row[name], 3) for name in names if name in row})
            """
        ),
        md(
            """
            ## 10.2 조건부 GAN: 원하는 클래스를 주문하기

            `model.conditional = true`: 생성기와 판별기가 모두 클래스 라벨을 입력으로 받습니다.
            """
        ),
        code(
            """
            config = seqlab.load_config(
                "fashion-cgan",
                overrides=small + ["train.max_steps=150", "train.eval_every=150", "train.checkpoint_every=150"],
            )
            cgan = seqlab.train(config, run_dir=WORK / "cgan", console=Console(quiet=True))
            rows = [cgan.generate(8, label=name, seed=0) for name in ["Trouser", "Sneaker", "Bag", "Dress"]]
            show(plot_image_grid(np.concatenate(rows), ncols=8, title="조건부 GAN: 줄마다 바지, 운동화, 가방, 드레스"))
            """
        ),
        md(
            """
            ## 10.3 CycleGAN: 짝 없는 두 영역 사이의 변환

            운동화 사진과 앵클부츠 사진은 짝이 없습니다. CycleGAN은 생성기 둘(A->B, B->A)과 판별기 둘을 학습하고,
            **순환 일관성**(A->B->A가 원래 A로 돌아와야 함)과 **항등 손실**로 변환이 내용을 지키게 합니다. 생성된
            이미지는 재생 버퍼(replay buffer)에 모아 판별기가 과거의 가짜도 보게 합니다.
            """
        ),
        code(
            """
            from seqlab.tasks.cyclegan import plot_translation, translate_examples

            config = seqlab.load_config(
                "fashion-cyclegan",
                overrides=small + ["train.max_steps=80", "train.eval_every=80", "train.checkpoint_every=80"],
            )
            print(config.data.domain_a, "<->", config.data.domain_b)
            cycle = seqlab.train(config, run_dir=WORK / "cyclegan", console=console)
            # seqlab generate RUN --from Sneaker 와 같은 일: 입력 -> 변환 -> 복원
            translations = translate_examples(cycle, "Sneaker", num=8, seed=0)
            show(plot_translation(translations, title="운동화 -> 앵클부츠 -> 운동화"))
            """
        ),
        md(
            """
            ## 10.4 스타일 기반 생성기 (StyleGAN의 아이디어를 작게)

            - **매핑 네트워크**: 잡음 $z$를 중간 잠재 $w$로 바꿉니다.
            - **층별 스타일 변조(AdaIN)**: $w$가 층마다 특징의 크기와 이동을 정합니다.
              앞쪽 층은 굵은 모양, 뒤쪽 층은 세부를 정합니다.
            - **잡음 입력**: 층마다 더하는 잡음이 무작위한 세부를 만듭니다.
            - **스타일 섞기**: 앞쪽 층은 한 $w$, 뒤쪽 층은 다른 $w$로 만듭니다.
            - **절단 기법(truncation)**: $w$를 평균 쪽으로 $\\psi$만큼 당겨 다양성 대신 품질을 얻습니다.

            여기서는 150 스텝만 학습하므로 그림이 아직 거칩니다. 레시피의 전체 예산(5분)으로 학습한 결과는
            `benchmarks/images.md`에 있습니다.
            """
        ),
        code(
            """
            from seqlab.tasks.gan import sample_images, style_mixing_grid

            config = seqlab.load_config(
                "fashion-stylegan",
                overrides=small + ["train.max_steps=150", "train.eval_every=150", "train.checkpoint_every=150"],
            )
            print(config.model)
            style = seqlab.train(config, run_dir=WORK / "stylegan", console=Console(quiet=True))

            # seqlab generate RUN --mix: 왼쪽 열에서 굵은 스타일, 위쪽 줄에서 세부 스타일
            grid = style_mixing_grid(style, 4, seed=0)
            show(plot_image_grid(grid.reshape(-1, *grid.shape[2:]), ncols=5, title="스타일 섞기"))
            """
        ),
        code(
            """
            # seqlab generate RUN --truncation 0.7: psi가 작을수록 평균에 가깝고 덜 다양합니다
            rows = [sample_images(style, 8, seed=0, truncation=psi) for psi in (1.0, 0.7, 0.3)]
            show(plot_image_grid(np.concatenate(rows), ncols=8, title="절단 기법: 줄마다 psi = 1.0, 0.7, 0.3"))
            """
        ),
        md(
            """
            ## 정리

            - 명령줄: `seqlab train fashion-dcgan`, `seqlab generate RUN --label Sneaker`,
              `seqlab generate RUN --from Sneaker`(CycleGAN),
              `seqlab generate RUN --mix`, `seqlab generate RUN --truncation 0.7`(스타일 기반).
            - 실행 폴더의 `summary.md`에는 판정 분류기의 평가와 에폭마다의 샘플 그림(`samples/`)이 있습니다.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 11. hyperparameter studies

CH11 = Notebook(
    "11_hyperparameter_studies",
    "11장. 하이퍼파라미터 실험: 학습률, 배치 크기, 드롭아웃",
    (
        md(
            """
            # 11장. 하이퍼파라미터 실험: 학습률, 배치 크기, 드롭아웃

            강의의 단골 과제 "학습률/배치 크기/드롭아웃을 바꿔 가며 비교해 보세요"를 `compare` 한 번으로 합니다.
            `compare`는 변형마다 보통의 실행 폴더를 만들고, 표(report.md, report.html)와 겹친 학습 곡선을 그립니다.
            같은 폴더로 다시 부르면 끝난 실행은 건너뛰고 중단된 실행은 이어서 합니다.

            - 레시피: `fashion-mlp`, 5,000장, 변형마다 150 스텝 (명령줄의 `--budget 150`)
            """
        ),
        setup("11"),
        code(
            """
            from IPython.display import Markdown

            from seqlab.experiments import STUDIES, compare, grid, parse_budget

            for name, study in STUDIES.items():
                print(f"seqlab study {name:<15} {study.title}  (기본 레시피 {study.recipe})")
            """
        ),
        code(
            """
            base = seqlab.load_config("fashion-mlp", overrides=QUICK + ["data.limit=5000", "train.schedule=constant"])
            budget = parse_budget("150")  # 150 스텝, 검증은 자주
            print("예산:", budget)


            def study(name, vary):
                variants = grid([vary])
                print(f"== {name}: {[v.name for v in variants]}")
                quiet = Console(quiet=True)
                return compare(base, variants, out_dir=WORK / name, budget=budget, latency=False, console=quiet)


            results = {
                "learning-rate": study("learning-rate", "train.lr=1e-4,1e-3,1e-2"),
                "batch-size": study("batch-size", "train.batch_size=32,256"),
                "dropout": study("dropout", "model.dropout=0.0,0.5"),
            }
            for name, result in results.items():
                print(f"{name}: {result.metric} 기준 가장 좋은 변형 = {result.best}")
            """
        ),
        md(
            """
            ## 11.1 보고서

            `report.md`의 표: 변형마다 검증/테스트 지표, 파라미터 수, 학습 시간, 처리 속도.
            """
        ),
        code(
            """
            report = results["learning-rate"].folder / "report.md"
            table = [line for line in report.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
            display(Markdown("\\n".join(table)))
            print(sorted(p.name for p in results["learning-rate"].folder.glob("*.png")))
            display(Image(filename=str(results["learning-rate"].folder / "curves-val-loss.png"), width=560))
            """
        ),
        code(
            """
            # 직접 그리기: 세 실험의 검증 정확도 곡선을 한 그림에
            from matplotlib.figure import Figure

            from seqlab.viz.fonts import apply_font

            labels = {"learning-rate": "학습률", "batch-size": "배치 크기", "dropout": "드롭아웃"}
            fig = Figure(figsize=(12, 3.2))
            for ax, (name, result) in zip(fig.subplots(1, 3), results.items()):
                for run_dir in sorted(result.folder.glob("runs/*/seed-*")):
                    rows = [row for row in seqlab.load(run_dir).metrics() if "val_accuracy" in row]
                    steps, accuracy = [r["step"] for r in rows], [r["val_accuracy"] for r in rows]
                    ax.plot(steps, accuracy, marker=".", label=run_dir.parent.name)
                ax.set(title=f"{labels[name]}에 따른 검증 정확도", xlabel="스텝")
                ax.legend(fontsize=7)
            show(apply_font(fig))
            """
        ),
        md(
            """
            ## 정리

            - 명령줄: `seqlab compare fashion-mlp --vary train.lr=1e-4,1e-3,1e-2 --budget 150`,
              `seqlab study learning-rate` (`seqlab study`가 목록을 보여 줍니다).
            - 반복(`--repeats 3`)하면 시드가 달라지고 표에 평균 ± 표준편차가 나옵니다.
            - 넓은 탐색은 `seqlab sweep RECIPE --trials 20 --space "train.lr=log(1e-4,1e-2)"` (Optuna).
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- 12. streaming chatbot

CH12 = Notebook(
    "12_streaming_chatbot",
    "12장. 스트리밍 챗봇: seqlab serve와 Streamlit 페이지",
    (
        md(
            """
            # 12장. 스트리밍 챗봇: `seqlab serve`와 Streamlit 페이지

            직접 학습한 모델을 **OpenAI 호환 API**로 띄우고, 공식 `openai` 클라이언트로 답을 한 토큰씩
            스트리밍으로 받습니다. `base_url`만 바꾸면 OpenAI용으로 만든 앱이 그대로 내 모델과 이야기합니다.

            1. `chat-lm` 레시피(영어와 한국어 chatterbot 대화 + 셰익스피어 대사, 바이트 BPE, LSTM)를 작게 학습
            2. `seqlab serve`를 127.0.0.1의 빈 포트에서 하위 프로세스로 시작
            3. `openai` 클라이언트로 스트리밍 채팅
            4. `seqlab ui`로 Streamlit 채팅 페이지 열기
            5. 마지막 셀에서 서버를 pid로 종료

            (`pip install -e .[serve,ui]`가 필요합니다.)
            """
        ),
        setup("12"),
        code(
            """
            config = seqlab.load_config(
                "chat-lm",
                overrides=QUICK
                + [
                    "model.hidden_size=128",
                    "model.num_layers=1",
                    "train.max_steps=500",
                    "train.max_time=120s",
                    "train.warmup_steps=30",
                    "train.eval_every=250",
                    "train.eval_batches=5",
                    "train.checkpoint_every=500",
                    "sample.max_tokens=40",
                    "sample.num_samples=1",
                ],
            )
            run = seqlab.train(config, run_dir=WORK / "chat-lm", console=console)
            """
        ),
        md(
            """
            ## 12.1 서버 시작

            서버와 페이지는 이 커널과 다른 프로세스입니다. 셀이 실패해도 서버가 남지 않도록 `atexit`에도 종료를
            등록하고, 마지막 셀에서 pid로 직접 종료합니다.
            """
        ),
        code(
            """
            import atexit
            import os
            import signal
            import socket
            import subprocess
            import sys
            import time
            import urllib.request


            def free_port():
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    return sock.getsockname()[1]


            def wait_for(url, process, seconds=120):
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    if process.poll() is not None:
                        raise RuntimeError(f"{process.args[3]} 프로세스가 끝났습니다 (종료 코드 {process.returncode})")
                    try:
                        with urllib.request.urlopen(url, timeout=2) as response:
                            return response.status
                    except OSError:
                        time.sleep(0.5)
                raise TimeoutError(f"{url} 이(가) {seconds}초 안에 응답하지 않았습니다")


            def stop(process):
                # pid로 SIGTERM을 보내고, 10초 안에 끝나지 않으면 SIGKILL
                if process.poll() is None:
                    os.kill(process.pid, signal.SIGTERM)
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        os.kill(process.pid, signal.SIGKILL)
                        process.wait()


            PORT = free_port()
            BASE_URL = f"http://127.0.0.1:{PORT}/v1"
            command = [sys.executable, "-m", "seqlab", "serve", f"chat={run.run_dir}"]
            server = subprocess.Popen(
                [*command, "--host", "127.0.0.1", "--port", str(PORT)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            atexit.register(stop, server)
            print("서버 pid", server.pid, "| health:", wait_for(f"http://127.0.0.1:{PORT}/health", server))
            """
        ),
        md("## 12.2 공식 `openai` 클라이언트로 스트리밍"),
        code(
            """
            from openai import OpenAI

            client = OpenAI(base_url=BASE_URL, api_key="unused")
            print("모델:", [model.id for model in client.models.list().data])

            for question in ["hello", "안녕하세요"]:
                stream = client.chat.completions.create(
                    model="chat",
                    messages=[{"role": "user", "content": question}],
                    max_tokens=40,
                    temperature=0.7,
                    seed=0,
                    stream=True,
                )
                print(f"User: {question}\\nBot: ", end="")
                pieces = 0
                for chunk in stream:
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        print(delta, end="", flush=True)  # 도착하는 대로 출력
                        pieces += 1
                print(f"\\n({pieces}개 조각으로 도착)\\n")
                assert pieces > 0
            """
        ),
        md(
            """
            ## 12.3 Streamlit 채팅 페이지

            `seqlab ui --base-url ...`는 이 서버(또는 OpenAI 호환 서버 어디든)와 이야기하는 채팅 페이지를 엽니다.
            아래 셀이 페이지를 시작하면, 브라우저에서 출력된 주소를 여세요. 터미널에서는:

            ```bash
            seqlab serve chat=runs/chat-lm --port 8000
            seqlab ui --base-url http://127.0.0.1:8000/v1      # http://127.0.0.1:8501
            ```
            """
        ),
        code(
            """
            UI_PORT = free_port()
            page = subprocess.Popen(
                [sys.executable, "-m", "seqlab", "ui", "--base-url", BASE_URL, "--port", str(UI_PORT)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            atexit.register(stop, page)
            status = wait_for(f"http://127.0.0.1:{UI_PORT}/", page)
            print(f"채팅 페이지: http://127.0.0.1:{UI_PORT} (HTTP {status}), pid {page.pid}")
            """
        ),
        md("## 12.4 정리: 서버와 페이지를 pid로 종료"),
        code(
            """
            # 이 노트북이 시작한 두 프로세스만, pid로 종료합니다
            for process in [page, server]:
                stop(process)
                print("pid", process.pid, "종료 코드", process.returncode)
            """
        ),
        md(
            """
            ## 정리

            - `seqlab serve`는 `/v1/models`, `/v1/chat/completions`(스트리밍 SSE 포함), `/v1/completions`,
              `/health`를 제공합니다.
            - 터미널 채팅: `seqlab chat RUN`. seq2seq 실행(`chat-seq2seq`)도 같은 방식으로 띄울 수 있습니다.
            - 레시피의 전체 예산(5분)으로 학습하면 chatterbot의 문장으로 대답합니다.
            """
        ),
    ),
)


# ----------------------------------------------------------------------------- writing

NOTEBOOKS: tuple[Notebook, ...] = (CH01, CH02, CH03, CH04, CH05, CH06, CH07, CH08, CH09, CH10, CH11, CH12)


def build(notebook: Notebook):
    """The notebook as an nbformat v4 object: no outputs, no execution counts, the venv's python3 kernel."""
    import nbformat

    cells = []
    for index, (kind, source) in enumerate(notebook.cells):
        cell_id = f"{notebook.stem[:2]}-{index:02d}"
        if kind == "md":
            cells.append(nbformat.v4.new_markdown_cell(source, id=cell_id))
        else:
            cells.append(nbformat.v4.new_code_cell(source, id=cell_id))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (seqlab)", "language": "python"},
        "language_info": {"name": "python"},
        "title": notebook.title,
    }
    return nb


def render(notebook: Notebook) -> str:
    """The notebook's file text, as nbformat writes it (with a final newline)."""
    import nbformat

    return nbformat.writes(build(notebook)) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write every notebook (or, with ``--check``, report the stale ones and return 1)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the stored notebooks are up to date")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into (default: notebooks/)")
    args = parser.parse_args(argv)
    stale = []
    for notebook in NOTEBOOKS:
        path = args.out / f"{notebook.stem}.ipynb"
        text = render(notebook)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run: python notebooks/make_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
