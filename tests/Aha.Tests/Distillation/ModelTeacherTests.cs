using Aha.Distillation;
using Aha.Model;
using Aha.Tasks;
using Aha.Tests.Model;
using Aha.Tokenizer;

namespace Aha.Tests.Distillation;

/// <summary>The in-process teacher: a checkpoint decoding in the student's prompt style, traces reproducible from the seed, resumed from disk.</summary>
public class ModelTeacherTests
{
    [Fact]
    public async Task An_in_process_teacher_draws_the_same_traces_from_the_same_seed_and_a_rerun_asks_for_none()
    {
        using var dir = new TempDirectory();
        var task = TaskRegistry.Addition();
        var config = TinyModels.Config() with { VocabSize = ByteTokenizer.VocabSize, BosTokenId = ByteTokenizer.Bos, EosTokenId = ByteTokenizer.Eos, PadTokenId = ByteTokenizer.Pad, MaxPositionEmbeddings = 96 };
        using var model = TinyModels.Random(config, seed: 3);
        var options = new DistillOptions { Prompts = 3, Samples = 2, Temperature = 1, MaxCompletionTokens = 12, BatchPrompts = 2 };
        ITeacher Teacher(DistillOptions o) => new ModelTeacher(model, ByteTokenizer.Default, task, o, "tiny");

        var (first, tally) = await Distiller.CollectAsync(Teacher(options), task, options, dir["one"], _ => { });
        var (second, _) = await Distiller.CollectAsync(Teacher(options with { BatchPrompts = 3 }), task, options with { BatchPrompts = 3 }, dir["two"], _ => { });
        var (again, rerun) = await Distiller.CollectAsync(Teacher(options), task, options, dir["one"], _ => { });

        Assert.Equal(new DistillTally(3, 6, 6, first.Count(t => t.Correct)), tally);
        Assert.Equal(first.Select(t => t.Completion), second.Select(t => t.Completion)); // batching does not change a trace
        Assert.True(first.Select(t => t.Completion).Distinct().Count() > 1, "six samples at temperature 1 should not all be equal");
        Assert.Equal(0, rerun.Requested);
        Assert.Equal(first, again);
        Assert.All(first, t => Assert.Equal(t.FinishReason == "length", t.Tokens == 12));
    }
}
