using Aha.Model;
using Aha.Tokenizer;

namespace Aha.Tasks.Rewards;

/// <summary>
/// A learned reward: a reward model's score of prompt + completion, encoded as the RM was trained on it
/// (<c>tokenizer(prompt)</c>, then the completion's ids and EOS unless it was cut at the length limit — an
/// <see cref="Preferences.EncodedPair"/> row). GRPO and PPO optimise it like any rule; PPO logs the verifier beside it,
/// because a learned proxy can be hacked.
/// </summary>
public sealed class RewardModelReward : IRewardFunction
{
    readonly LlamaModel _rm;
    readonly ITokenizer _tokenizer;
    readonly int _maxLength;

    /// <param name="rm">A reward model (score head); it is only read.</param>
    /// <param name="tokenizer">The RM's tokenizer (its checkpoint's).</param>
    /// <param name="maxLength">Longest row scored; longer rows keep their end, as the RM's training data did.</param>
    public RewardModelReward(LlamaModel rm, ITokenizer tokenizer, int maxLength = 512)
    {
        if (!rm.Config.SequenceClassification) throw new ArgumentException("the reward model has no score head (its config is not *ForSequenceClassification); train one with aha rm.", nameof(rm));
        _rm = rm;
        _tokenizer = tokenizer;
        _maxLength = maxLength;
    }

    public string Name => "rm";

    /// <summary>Tokens of every row scored so far, and Σ of their rows' squared lengths: what a compute budget charges for the forwards.</summary>
    public (long Tokens, double SquaredTokens) Scored { get; private set; }

    public float[] Score(IReadOnlyList<Completion> batch)
    {
        var rows = batch.Select(Row).ToList();
        Scored = (Scored.Tokens + rows.Sum(r => (long)r.Count), Scored.SquaredTokens + rows.Sum(r => (double)r.Count * r.Count));
        return RewardModels.Score(_rm, rows);
    }

    IReadOnlyList<int> Row(Completion c)
    {
        var ids = _tokenizer.Encode(c.Prompt, addSpecialTokens: true).Concat(_tokenizer.Encode(c.Text)).ToList();
        if (!c.Truncated && _tokenizer.EosId is { } eos) ids.Add(eos);
        return ids.Count > _maxLength ? ids[^_maxLength..] : ids;
    }
}
