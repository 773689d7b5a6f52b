using Aha.Model;
using Aha.Tasks;
using Aha.Tokenizer;
using static TorchSharp.torch;

namespace Aha.Constitutional;

/// <summary>
/// A local causal LM as the feedback model (the policy itself or another checkpoint): it reads <see cref="CaiText.Judgement"/>
/// and its next-token distribution is read at the two choice tokens <c>A</c> and <c>B</c> (soft), or one token is sampled
/// from it (hard). Prompts longer than the context keep their end (the question and the two responses). Disposing it
/// disposes the model only when it was given with <c>ownsModel</c> (a judge loaded for the purpose, not the policy).
/// </summary>
public sealed class ModelJudge : IJudge, IDisposable
{
    readonly LlamaModel _model;
    readonly bool _ownsModel;
    readonly ITokenizer _tokenizer;
    readonly int _a, _b;
    readonly long _matmulParameters;

    public ModelJudge(LlamaModel model, ITokenizer tokenizer, JudgeMode mode, string name = "model", bool ownsModel = false)
    {
        _model = model;
        _ownsModel = ownsModel;
        _tokenizer = tokenizer;
        Mode = mode;
        Name = name;
        _a = ChoiceId(tokenizer, "A");
        _b = ChoiceId(tokenizer, "B");
        _matmulParameters = Training.Flops.MatmulParameters(model);
    }

    public string Name { get; }
    public JudgeMode Mode { get; }

    public void Dispose()
    {
        if (_ownsModel) _model.Dispose();
    }

    /// <summary>Judgements fed to the model so far.</summary>
    public long Calls { get; private set; }
    /// <summary>Forward FLOPs of the judgements so far (what a compute budget charges for them).</summary>
    public double Flops { get; private set; }
    /// <summary>Hard answers that were neither A nor B.</summary>
    public long OffChoice { get; private set; }

    public double? ProbabilityA(string prompt, string a, string b, Principle principle, long seed)
    {
        var ids = _tokenizer.Encode(CaiText.Judgement(prompt, a, b, principle), addSpecialTokens: true);
        int room = _model.Config.MaxPositionEmbeddings;
        if (ids.Length > room) ids = ids[^room..];
        Calls++;
        Flops += Training.Flops.Forward(_model.Config, _matmulParameters, ids.Length, (double)ids.Length * ids.Length);
        float[] probabilities;
        using (var scope = NewDisposeScope())
        using (inference_mode())
        {
            _model.eval();
            var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length], device: _model.parameters().First().device);
            var logits = _model.LastLogits(input).to(float32).squeeze(0);                     // (V)
            probabilities = Mode == JudgeMode.Soft
                ? nn.functional.softmax(stack([logits[_a], logits[_b]]), 0).data<float>().ToArray()   // (2)
                : nn.functional.softmax(logits, 0).cpu().data<float>().ToArray();                    // (V)
        }
        if (Mode == JudgeMode.Soft) return probabilities[0];
        double u = StableRandom.For(seed, 0).NextDouble(), total = 0;
        int token = probabilities.Length - 1;
        for (int i = 0; i < probabilities.Length; i++) { total += probabilities[i]; if (u < total) { token = i; break; } }
        if (token == _a) return 1;
        if (token == _b) return 0;
        OffChoice++;
        return null;
    }

    static int ChoiceId(ITokenizer tokenizer, string letter)
    {
        var ids = tokenizer.Encode(letter);
        return ids.Length == 1 ? ids[0]
            : throw new ArgumentException($"the judge's tokenizer writes '{letter}' as {ids.Length} tokens; a model judge reads one choice token each for A and B.");
    }
}
