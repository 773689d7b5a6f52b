using Aha.Checkpoints;
using Aha.Data;
using Aha.Tests.Tokenizer;
using Aha.Tokenizer;

namespace Aha.Tests.Data;

public class PackedTokenStreamTests
{
    static readonly ITokenizer Tok = ByteTokenizer.Default;
    static readonly string[] Docs = ["hello", "", "a longer document here", "x", "ünï", "the end"];

    static IEnumerable<string> Generated()
    {
        for (long i = 0; ; i++) yield return $"doc {i}: {i * i}";
    }

    static List<long> Stream(IEnumerable<string> docs) =>
        docs.SelectMany(d => new long[] { ByteTokenizer.Bos }.Concat(ByteTokenizer.EncodeBytes(d).Select(b => (long)b)).Append(ByteTokenizer.Eos)).ToList();

    [Fact]
    public void Rows_are_consecutive_windows_of_the_document_stream_overlapping_by_one_token()
    {
        var stream = new PackedTokenStream(Tok, Docs, batchSize: 2, sequenceLength: 5, seed: 0, shuffleWindow: 1, repeat: false);
        var expected = Stream(Docs);
        var batches = stream.Batches().ToList();
        Assert.All(batches, b => Assert.Equal(2 * 6, b.Tokens.Length));
        int row = 0;
        foreach (var batch in batches)
            for (int b = 0; b < batch.BatchSize; b++, row++)
                Assert.Equal(expected.Skip(row * 5).Take(6), batch.Row(b).ToArray());
        Assert.Equal((expected.Count - 1) / 5 / 2, batches.Count); // the partial batch at the end is dropped
    }

    [Fact]
    public void The_same_seed_gives_the_same_batches_and_another_seed_another_order()
    {
        long[] Flat(long seed) => new PackedTokenStream(Tok, Generated(), 2, 16, seed, shuffleWindow: 8).Batches().Take(6).SelectMany(b => b.Tokens).ToArray();
        Assert.Equal(Flat(7), Flat(7));
        Assert.NotEqual(Flat(7), Flat(8));
    }

    [Fact]
    public void Epochs_repeat_a_finite_source_in_a_new_order()
    {
        var stream = new PackedTokenStream(Tok, Docs, 1, 4, seed: 3, shuffleWindow: 4);
        var positions = stream.Batches().Take(40).Select(b => b.Next).ToList();
        Assert.Contains(positions, p => p.Epoch >= 2);
        // Each batch takes 4 new tokens, so three epochs take about three times the stream length / 4 batches.
        int oneEpoch = Stream(Docs).Count;
        int batches = new PackedTokenStream(Tok, Docs, 1, 4, seed: 3, shuffleWindow: 4).Batches().TakeWhile(b => b.Next.Epoch < 3).Count();
        Assert.InRange(batches, 3 * oneEpoch / 4 - 2, 3 * oneEpoch / 4 + 2);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 3)]
    [InlineData(5, 1000)]
    public void Resuming_from_any_saved_position_continues_exactly_like_the_uninterrupted_stream(int shuffleWindow, int sequenceLength)
    {
        var make = () => new PackedTokenStream(Tok, Docs, batchSize: 2, sequenceLength: Math.Min(sequenceLength, 7), seed: 11, shuffleWindow: shuffleWindow);
        var uninterrupted = make().Batches().Take(30).ToList();
        for (int stop = 1; stop < 30; stop++)
        {
            var resumed = make().Batches(uninterrupted[stop - 1].Next).Take(30 - stop).ToList();
            Assert.Equal(uninterrupted.Skip(stop).Select(b => b.Tokens), resumed.Select(b => b.Tokens));
            Assert.Equal(uninterrupted[^1].Next, resumed[^1].Next);
        }
    }

    [Fact]
    public void An_infinite_generated_source_resumes_too()
    {
        var make = () => new PackedTokenStream(Tok, Generated(), 3, 32, seed: 5, shuffleWindow: 16);
        var all = make().Batches().Take(12).ToList();
        var resumed = make().Batches(all[5].Next).Take(6).ToList();
        Assert.Equal(all.Skip(6).Select(b => b.Tokens), resumed.Select(b => b.Tokens));
    }

    [Fact]
    public void The_position_survives_trainer_state_json()
    {
        var position = new PackedTokenStream(Tok, Generated(), 2, 8, seed: 1).Batches().Skip(3).First().Next;
        var state = new TrainingState { Step = 4 }.With("data_position", position);
        var back = TrainingState.FromJson(state.ToJson()).Get<PackingPosition>("data_position");
        Assert.Equal(position, back);
    }

    [Fact]
    public void An_empty_source_is_an_error_not_an_endless_loop()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new PackedTokenStream(Tok, [], 1, 4, 0).Batches().First());
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void A_file_source_reads_through_the_jsonl_reader()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir["docs.jsonl"], Docs.Select(d => System.Text.Json.JsonSerializer.Serialize(new { text = d })));
        var fromFile = new PackedTokenStream(Tok, JsonlReader.ReadTexts(dir["docs.jsonl"]), 2, 5, seed: 2, shuffleWindow: 3).Batches().Take(10);
        var fromMemory = new PackedTokenStream(Tok, Docs, 2, 5, seed: 2, shuffleWindow: 3).Batches().Take(10);
        Assert.Equal(fromMemory.Select(b => b.Tokens), fromFile.Select(b => b.Tokens));
    }

    [Fact]
    public void Byte_documents_pack_as_bos_then_utf8_bytes_then_eos()
    {
        // By hand: <|bos|> = 256, 'h' = 0x68, 'i' = 0x69, <|eos|> = 257, 'ü' = C3 BC, then the next document.
        var batch = new PackedTokenStream(Tok, ["hi", "ü"], batchSize: 1, sequenceLength: 7, seed: 0, shuffleWindow: 1, repeat: false).Batches().First();
        Assert.Equal([256, 0x68, 0x69, 257, 256, 0xC3, 0xBC, 257], batch.Row(0).ToArray());
    }

    [Fact]
    public void A_tokenizer_without_bos_packs_documents_ended_by_eos_alone()
    {
        var batch = new PackedTokenStream(new NoBosTokenizer(), ["ab", "c"], batchSize: 1, sequenceLength: 4, seed: 0, shuffleWindow: 1, repeat: false).Batches().First();
        Assert.Equal(['a', 'b', NoBosTokenizer.Eos, 'c', NoBosTokenizer.Eos], batch.Row(0).ToArray());
    }
}
