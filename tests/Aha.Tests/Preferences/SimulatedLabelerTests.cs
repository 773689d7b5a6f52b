using System.Text.Json.Nodes;
using Aha.Model;
using Aha.Preferences;
using Aha.Tasks.Arithmetic;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Xunit;

namespace Aha.Tests.Preferences;

/// <summary>The simulated labeler's flaws happen at the asked rates, and every label of <c>aha prefs</c> is counted.</summary>
public class SimulatedLabelerTests
{
    const int N = 4000;

    static LabelCandidate C(string text, bool correct) => new(text, text.Length, correct);

    /// <summary>Share of N labels meeting <paramref name="test"/>, asserted within 4 binomial standard deviations of <paramref name="p"/>.</summary>
    static void Rate(double p, Func<long, bool> test, string what)
    {
        double share = Enumerable.Range(0, N).Count(i => test(i)) / (double)N;
        double bound = 4 * Math.Sqrt(p * (1 - p) / N);
        Assert.True(Math.Abs(share - p) <= bound, $"{what}: {share:F4}, expected {p} ± {bound:F4}");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.2)]
    [InlineData(0.45)]
    public void It_prefers_the_verified_answer_and_flips_the_noise_share(double noise)
    {
        var labeler = new SimulatedLabeler(noise, LengthBias: 1, Seed: 9);
        // The right answer is the shorter one, and sits on either side: neither length nor position may decide.
        PreferenceLabel L(long i) => labeler.Label(i % 2 == 0
            ? new LabelRequest("q", C("4", true), C("44444", false), i)
            : new LabelRequest("q", C("44444", false), C("4", true), i));
        Rate(1 - noise, i => L(i).PrefersA == (i % 2 == 0), "labels choosing the correct answer");
        Rate(noise, i => L(i).Flipped, "flipped");
        Assert.All(Enumerable.Range(0, 50), i => Assert.Equal("verifier", L(i).Reason));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.7)]
    [InlineData(1.0)]
    public void Between_equally_good_answers_the_longer_wins_with_the_length_bias_else_a_coin(double bias)
    {
        var labeler = new SimulatedLabeler(LabelNoise: 0, bias, Seed: 11);
        foreach (bool correct in new[] { true, false })
        {
            PreferenceLabel L(long i) => labeler.Label(new LabelRequest("q", C(i % 2 == 0 ? "long answer" : "short", correct), C(i % 2 == 0 ? "short" : "long answer", correct), i));
            Rate(bias + (1 - bias) / 2, i => L(i).PrefersA == (i % 2 == 0), $"longer chosen (both {(correct ? "right" : "wrong")})");
            Rate(bias, i => L(i).Reason == "length", "decided by length");
        }
        // Equal lengths: always a coin.
        Rate(0.5, i => labeler.Label(new LabelRequest("q", C("ab", false), C("cd", false), i)).PrefersA, "coin");
    }

    [Fact]
    public void The_same_seed_gives_the_same_labels_and_another_seed_others()
    {
        LabelRequest R(long i) => new("q", C("ab", false), C("cde", false), i);
        var a = Enumerable.Range(0, 200).Select(i => new SimulatedLabeler(0.2, 0.5, 1).Label(R(i))).ToList();
        Assert.Equal(a, Enumerable.Range(0, 200).Select(i => new SimulatedLabeler(0.2, 0.5, 1).Label(R(i))));
        Assert.NotEqual(a, Enumerable.Range(0, 200).Select(i => new SimulatedLabeler(0.2, 0.5, 2).Label(R(i))));
    }

    [Theory]
    [InlineData(-0.1, 0.5, "--label-noise")]
    [InlineData(0.2, 1.5, "--length-bias")]
    public void Rates_outside_zero_to_one_are_refused(double noise, double bias, string option) =>
        Assert.Contains(option, Assert.Throws<ArgumentException>(() => new SimulatedLabeler(noise, bias, 1).Validate()).Message);

    /// <summary>Abstains on every third request, else prefers A: checks that abstentions are counted apart from pairs.</summary>
    sealed class Abstaining : IPreferenceLabeler
    {
        public string Source => "test";
        public PreferenceLabel? Label(LabelRequest request) => request.Index % 3 == 0 ? null : new PreferenceLabel(true, "coin", false);
    }

    static ModelConfig Config() => new ModelConfig
    {
        VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 64,
    }.Validate();

    [Fact]
    public void Every_pair_of_samples_is_one_label_or_one_skipped_identical_pair_and_the_file_keeps_the_metadata()
    {
        using var dir = new TempDirectory();
        var model = TinyModels.Random(Config());
        var task = new ArithmeticTask(ArithmeticOptions.Level(1));
        var options = new PreferenceCollectionOptions { Prompts = 3, Samples = 4, MaxCompletionTokens = 4, Seed = 5, BatchPrompts = 2 };
        var simulated = new SimulatedLabeler(0.3, 0.5, 5);
        var (pairs, tally) = PreferenceCollector.Collect(model, ByteTokenizer.Default, task, simulated, options);
        Assert.Equal(3 * 4 * 3 / 2, tally.Labels + tally.SkippedIdentical);   // K(K−1)/2 per prompt
        Assert.Equal(tally.Labels, pairs.Count);
        Assert.Equal(pairs.Count(p => p.Label.Flipped), tally.Flipped);
        Assert.Equal(pairs.Count(p => p.Chosen.Correct != p.Rejected.Correct), tally.Decisive);
        Assert.All(pairs, p => Assert.NotEqual(p.Chosen.Text, p.Rejected.Text));

        var again = PreferenceCollector.Collect(model, ByteTokenizer.Default, task, simulated, options);
        Assert.Equal(pairs.Select(p => (p.Chosen.Text, p.Rejected.Text, p.Label)), again.Pairs.Select(p => (p.Chosen.Text, p.Rejected.Text, p.Label)));

        var path = dir["pairs.jsonl"];
        PreferenceCollector.WriteJsonl(path, pairs);
        var loaded = PreferenceData.Load(path);
        Assert.Equal(pairs.Select(p => (p.Prompt, p.Chosen.Text, p.Rejected.Text)), loaded.Select(p => (p.PromptText!, p.Chosen, p.Rejected)));
        var first = JsonNode.Parse(File.ReadLines(path).First())!.AsObject();
        Assert.Equal(["prompt", "chosen", "rejected", "chosen_correct", "rejected_correct", "label_source", "flipped", "label_reason", "problem_id", "chosen_tokens", "rejected_tokens"],
            first.Select(kv => kv.Key).ToArray());
        Assert.Equal("simulated-human", (string)first["label_source"]!);

        var (kept, counted) = PreferenceCollector.Collect(model, ByteTokenizer.Default, task, new Abstaining(), options);
        Assert.Equal(tally.Labels, counted.Labels);                           // an abstention still costs the label
        Assert.Equal(Enumerable.Range(0, counted.Labels).Count(i => i % 3 == 0), counted.Abstained);
        Assert.Equal(counted.Labels - counted.Abstained, kept.Count);
    }
}
