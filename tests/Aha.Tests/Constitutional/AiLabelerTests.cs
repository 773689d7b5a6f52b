using Aha.Constitutional;
using Aha.Model;
using Aha.Preferences;
using Aha.Remote;
using Aha.Tests.Model;
using Aha.Tests.Remote;
using Aha.Tokenizer;
using static TorchSharp.torch;

namespace Aha.Tests.Constitutional;

/// <summary>RL-CAI's AI labels: a tiny model as the judge (soft labels from its A/B token probabilities) and an endpoint judge over loopback HTTP.</summary>
public class AiLabelerTests
{
    const string Prompt = "User: What is 12+34?\nAssistant:";
    static readonly LabelCandidate Bare = new(" <answer>46</answer>", 5, true);
    static readonly LabelCandidate Worked = new(" <think>2+4=6, 1+3=4, so 46</think> <answer>46</answer>", 9, true);
    static readonly LabelCandidate Wrong = new(" <answer>36</answer>", 5, false);

    static LlamaModel Judge() => TinyModels.Random(new ModelConfig
    {
        VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 256,
    }.Validate(), seed: 21);

    [Fact]
    public void A_model_judges_soft_label_is_the_softmax_of_its_A_and_B_logits_so_the_two_choices_sum_to_1()
    {
        using var model = Judge();
        var tokenizer = ByteTokenizer.Default;
        var principle = Constitution.Arithmetic.Principles[0];
        double p = new ModelJudge(model, tokenizer, JudgeMode.Soft).ProbabilityA(Prompt, Bare.Text, Wrong.Text, principle, 0)!.Value;

        var ids = tokenizer.Encode(CaiText.Judgement(Prompt, Bare.Text, Wrong.Text, principle), addSpecialTokens: true);
        using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
        using var logits = model.forward(input);                                  // (1, T, V)
        double la = logits[0, -1, tokenizer.Encode("A")[0]].item<float>(), lb = logits[0, -1, tokenizer.Encode("B")[0]].item<float>();
        double expected = Math.Exp(la) / (Math.Exp(la) + Math.Exp(lb));
        Assert.Equal(expected, p, 5);
        Assert.InRange(p, 1e-6, 1 - 1e-6);
    }

    [Fact]
    public void Soft_labels_are_probabilities_and_an_order_swapped_pair_gets_the_mirrored_label()
    {
        using var model = Judge();
        var judge = new ModelJudge(model, ByteTokenizer.Default, JudgeMode.Soft);
        var labeler = new AiLabeler(judge, Constitution.Arithmetic, Seed: 3);
        foreach (var (a, b, index) in new[] { (Bare, Wrong, 0L), (Worked, Bare, 1L), (Wrong, Worked, 2L) })
        {
            var forward = labeler.Label(new LabelRequest(Prompt, a, b, index))!;
            var swapped = labeler.Label(new LabelRequest(Prompt, b, a, index))!;
            double p = forward.ProbabilityA!.Value;
            Assert.InRange(p, 0, 1);
            Assert.Equal(1 - p, swapped.ProbabilityA!.Value, 12);
            Assert.Equal(p >= 0.5, forward.PrefersA);
            Assert.Equal(forward.PrefersA ? a.Text : b.Text, swapped.PrefersA ? b.Text : a.Text); // the same completion is chosen
            Assert.Equal(forward.ChosenProbability, swapped.ChosenProbability, 12);
            Assert.Contains(forward.Reason, Constitution.Arithmetic.Principles.Select(x => x.Name));
        }
        Assert.Equal(12, labeler.JudgeCalls); // both orders: two judge calls a label
    }

    [Fact]
    public void Both_orders_average_away_the_judges_position_bias()
    {
        using var model = Judge();
        var judge = new ModelJudge(model, ByteTokenizer.Default, JudgeMode.Soft);
        var principle = Constitution.Arithmetic.Sample(3, 0);
        // The canonical order is by text: Wrong's " <answer>36" sorts before Bare's " <answer>46".
        double ab = judge.ProbabilityA(Prompt, Wrong.Text, Bare.Text, principle, 0)!.Value;
        double ba = judge.ProbabilityA(Prompt, Bare.Text, Wrong.Text, principle, 0)!.Value;
        Assert.NotEqual(1.0, ab + ba, 3); // an untrained judge prefers a position, not an answer
        var label = new AiLabeler(judge, Constitution.Arithmetic, Seed: 3).Label(new LabelRequest(Prompt, Wrong, Bare, 0))!;
        Assert.Equal(0.5 * (ab + 1 - ba), label.ProbabilityA!.Value, 6);
        var oneOrder = new AiLabeler(judge, Constitution.Arithmetic, Seed: 3, BothOrders: false).Label(new LabelRequest(Prompt, Wrong, Bare, 0))!;
        Assert.Equal(ab, oneOrder.ProbabilityA!.Value, 6);
    }

    [Fact]
    public void Collected_ai_labels_carry_their_probability_into_the_pair_file_and_back()
    {
        using var model = Judge();
        using var dir = new TempDirectory();
        var task = Aha.Tasks.TaskRegistry.Addition();
        var labeler = new AiLabeler(new ModelJudge(model, ByteTokenizer.Default, JudgeMode.Soft), Constitution.Arithmetic, Seed: 1);
        var (pairs, tally) = PreferenceCollector.Collect(model, ByteTokenizer.Default, task, labeler,
            new PreferenceCollectionOptions { Prompts = 3, Samples = 2, MaxCompletionTokens = 8, Seed = 2 });
        Assert.Equal(3, tally.Labels);
        Assert.All(pairs, p => Assert.InRange(p.Label.ChosenProbability, 0.5, 1));
        PreferenceCollector.WriteJsonl(dir["pairs.jsonl"], pairs);
        var read = PreferenceData.Load(dir["pairs.jsonl"]);
        Assert.Equal(pairs.Select(p => Math.Round(p.Label.ChosenProbability, 6)), read.Select(p => p.ChosenProbability!.Value));
        Assert.All(read, p => Assert.NotNull(p.Correct));
    }

    [Fact]
    public void Label_quality_counts_the_probability_on_the_correct_answer_and_a_half_for_an_undecided_label()
    {
        var item = new Aha.Tasks.TaskItem("1", "What is 12+34?", "46");
        LabeledPair Pair(LabelCandidate chosen, LabelCandidate rejected, double? p) =>
            new(item, Prompt, chosen, rejected, new PreferenceLabel(true, "correct-sum", false) { ProbabilityA = p }, "ai:test");
        var pairs = new[]
        {
            Pair(Bare, Wrong, 0.8),    // right, p(correct) 0.8
            Pair(Wrong, Worked, 0.6),  // wrong, p(correct) 0.4
            Pair(Worked, Wrong, 0.5),  // undecided: half
            Pair(Bare, Worked, 0.9),   // both right: not decisive
            Pair(Worked, Wrong, null), // a hard label on the right one: p 1
        };
        var tally = new PreferenceTally(1, 4, 3, 5, 0, 0, 4, 3, 0, 0, 0);
        var q = ConstitutionalAi.Quality(pairs, tally, judgeCalls: 10);
        Assert.Equal(4, q.Decisive);
        Assert.Equal((1 + 0 + 0.5 + 1) / 4.0, q.Agreement, 12);
        Assert.Equal((0.8 + 0.4 + 0.5 + 1) / 4.0, q.MeanProbabilityOfCorrect, 12);
        Assert.Equal((4, 10L), (q.SoftLabels, q.JudgeCalls));
    }

    [Fact]
    public async Task An_endpoint_judge_reads_a_soft_label_from_top_logprobs_and_a_hard_one_from_the_reply()
    {
        const string logprobs = """{"content":[{"token":" A","logprob":-0.2,"top_logprobs":[{"token":" A","logprob":-0.2},{"token":"B","logprob":-1.8},{"token":"The","logprob":-3.0}]}]}""";
        string[] hardReplies = ["B", "(A) is better", "I cannot decide"];
        await using var server = await LoopbackServer.StartAsync((attempt, c) => LoopbackServer.Json(c, 200,
            attempt == 0 ? LoopbackServer.Completion("A", logprobs: logprobs) : LoopbackServer.Completion(hardReplies[attempt - 1])));
        using var endpoint = new ChatEndpoint(new ChatEndpointOptions { BaseUrl = new Uri(server.BaseUrl), Model = "judge", Option = "--judge-url" });
        var principle = Constitution.General.Principles[2];

        double soft = new EndpointJudge(endpoint, JudgeMode.Soft).ProbabilityA(Prompt, Bare.Text, Wrong.Text, principle, 0)!.Value;
        Assert.Equal(Math.Exp(-0.2) / (Math.Exp(-0.2) + Math.Exp(-1.8)), soft, 9);
        var (request, _, _) = server.Received.First();
        Assert.Equal(10, request["top_logprobs"]!.GetValue<int>());
        string question = request["messages"]![0]!["content"]!.GetValue<string>();
        Assert.Contains(principle.Choice, question);
        Assert.Contains("(A) <answer>46</answer>\n(B) <answer>36</answer>", question);

        var hard = new EndpointJudge(endpoint, JudgeMode.Hard);
        Assert.Equal(0, hard.ProbabilityA(Prompt, Bare.Text, Wrong.Text, principle, 1));
        Assert.Equal(1, hard.ProbabilityA(Prompt, Bare.Text, Wrong.Text, principle, 2));
        Assert.Null(hard.ProbabilityA(Prompt, Bare.Text, Wrong.Text, principle, 3)); // neither letter: the label abstains
        Assert.Equal(1, hard.OffChoice);
    }
}
