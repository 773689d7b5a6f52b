using System.Text.Json.Nodes;
using Aha.Constitutional;
using Aha.Model;
using Aha.Tasks;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Tests.Constitutional;

/// <summary>SL-CAI's critique → revision loop and its SFT on a tiny byte model.</summary>
public class SlCaiTests
{
    static LlamaModel Tiny() => TinyModels.Random(new ModelConfig
    {
        VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 256,
    }.Validate(), seed: 5);

    static SlCaiOptions Quick => new()
    {
        Prompts = 4, Rounds = 2, MaxCompletionTokens = 10, MaxCritiqueTokens = 10, EvalProblems = 4, Seed = 9,
        Sft = new LanguageModelTrainerOptions { Steps = 3, BatchSize = 2, SequenceLength = 128, LearningRate = 1e-3, WarmupSteps = 0, EvalEvery = 0, SaveEvery = 0, LogEvery = 1 },
    };

    [Fact]
    public void Each_response_gets_its_rounds_of_critique_and_revision_and_the_verdict_changes_add_up()
    {
        using var model = Tiny();
        var task = TaskRegistry.Addition();
        var (examples, tally) = ConstitutionalAi.Revise(model, ByteTokenizer.Default, task, Constitution.Arithmetic, Quick);
        Assert.Equal(4, examples.Count);
        Assert.All(examples, e => Assert.Equal(2, e.Rounds.Count));
        Assert.All(examples.SelectMany(e => e.Rounds), r => Assert.Contains(r.Principle, Constitution.Arithmetic.Principles.Select(p => p.Name)));
        Assert.All(examples.SelectMany(e => e.Rounds), r => Assert.DoesNotContain("\n", r.Critique)); // a critique ends at its line
        Assert.All(examples, e => Assert.Equal(task.Verify(e.Final, e.Item).Correct, e.FinalCorrect));
        Assert.Equal(tally.FinalCorrect - tally.InitialCorrect, tally.WrongToRight - tally.RightToWrong);
        Assert.Equal(2, tally.PerRound.Count);
        // The loop is a pure function of the seed: the same run revises the same way.
        var (again, _) = ConstitutionalAi.Revise(model, ByteTokenizer.Default, task, Constitution.Arithmetic, Quick);
        Assert.Equal(examples.Select(e => e.Final), again.Select(e => e.Final));
    }

    [Fact]
    public void Sl_cai_writes_its_revisions_fine_tunes_on_the_final_ones_and_evaluates_before_and_after()
    {
        using var model = Tiny();
        using var dir = new TempDirectory();
        var before = model.parameters().Select(p => p.clone()).ToList();
        var result = ConstitutionalAi.RunSl(model, ByteTokenizer.Default, TaskRegistry.Addition(), Constitution.Arithmetic, Quick, dir.Path);
        var rows = File.ReadAllLines(result.RevisionsPath).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r => Assert.Equal(2, r["rounds"]!.AsArray().Count));
        Assert.Equal(TrainingOutcome.Completed, result.Sft!.Outcome);
        Assert.True(Directory.Exists(result.Checkpoint), result.Checkpoint);
        Assert.NotNull(result.AccuracyBefore);
        Assert.NotNull(result.AccuracyAfter);
        Assert.Contains(model.parameters().Zip(before), pair => !pair.First.allclose(pair.Second, rtol: 0, atol: 0)); // the SFT trained
        foreach (var p in before) p.Dispose();
    }
}
