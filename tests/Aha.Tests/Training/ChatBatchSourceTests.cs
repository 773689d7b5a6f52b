using Aha.Tests.Tokenizer;
using Aha.Tokenizer;
using Aha.Training;
using static Aha.Tests.Training.TrainerFixtures;

namespace Aha.Tests.Training;

public class ChatBatchSourceTests
{
    static readonly IReadOnlyList<ChatMessage>[] Rows =
    [
        [new("user", "What is 2+2?"), new("assistant", "4")],
        [new("system", "Be brief."), new("user", "Say hi"), new("assistant", "hi there")],
    ];

    [Fact]
    public void Only_assistant_content_and_its_end_token_are_scored()
    {
        var batch = new ChatBatchSource(ByteTokenizer.Default, Rows, batchSize: 2, maxLength: 64, seed: 0).Next();
        var scoredTargets = Enumerable.Range(0, batch.BatchSize)
            .Select(b => Enumerable.Range(0, batch.Length).Where(t => batch.LossMask[b * batch.Length + t]).Select(t => (int)batch.Targets[b * batch.Length + t]).ToArray())
            .Select(ids => ByteTokenizer.Default.Decode(ids, skipSpecialTokens: true) + (ids[^1] == ByteTokenizer.End ? "<end>" : ""))
            .Order().ToList();
        Assert.Equal(["4<end>", "hi there<end>"], scoredTargets);
    }

    [Fact]
    public void The_loss_ignores_prompt_token_targets()
    {
        var batch = new ChatBatchSource(ByteTokenizer.Default, Rows, batchSize: 2, maxLength: 64, seed: 0).Next();
        using var model = NewModel();
        float Loss(TrainingBatch b) { using var scope = TorchSharp.torch.NewDisposeScope(); return NextTokenLoss.Sum(model, b).item<float>(); }

        var promptChanged = batch.Targets.Select((id, i) => batch.LossMask[i] ? id : (id + 1) % 256).ToArray();
        var completionChanged = batch.Targets.Select((id, i) => batch.LossMask[i] ? (id + 1) % 256 : id).ToArray();
        Assert.Equal(Loss(batch), Loss(batch with { Targets = promptChanged }));
        Assert.NotEqual(Loss(batch), Loss(batch with { Targets = completionChanged }));
    }

    [Fact]
    public void Seeking_a_saved_position_continues_with_the_same_batches()
    {
        var rows = Enumerable.Range(0, 7).Select(i => (IReadOnlyList<ChatMessage>)[new("user", $"q{i}"), new("assistant", $"a{i}")]).ToList();
        var source = new ChatBatchSource(ByteTokenizer.Default, rows, 3, 32, seed: 5);
        source.Next();
        var position = source.Position.DeepClone();
        var expected = Enumerable.Range(0, 4).Select(_ => source.Next().Inputs).ToList(); // crosses an epoch boundary
        var resumed = new ChatBatchSource(ByteTokenizer.Default, rows, 3, 32, seed: 5);
        resumed.Seek(position);
        Assert.All(expected, inputs => Assert.Equal(inputs, resumed.Next().Inputs));
    }

    [Fact]
    public void Rows_are_padded_with_the_tokenizers_pad_id_and_its_own_template()
    {
        var batch = new ChatBatchSource(new NoBosTokenizer(), [[new("user", "q"), new("assistant", "a")], [new("user", "qq"), new("assistant", "a")]],
            batchSize: 2, maxLength: 64, seed: 0).Next();
        // "user:" q 201 "assistant:" a 201 is 19 ids, the "qq" row 20: 19 inputs, and the shorter row's last input is a pad (202).
        Assert.Equal(19, batch.Length);
        Assert.Contains(Enumerable.Range(0, 2), b => batch.Inputs[b * 19 + 18] == NoBosTokenizer.Pad);
        Assert.Equal(4, batch.LossMask.Count(m => m)); // 'a' and the end of turn, in each row
    }
}
