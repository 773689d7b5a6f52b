using Aha.Tokenizer;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Tests.Model;

namespace Aha.Tests.Checkpoints;

/// <summary>Reading a run that is still training: its trainer keeps saving and pruning while `aha eval --model RUN` opens it.</summary>
public class LiveRunReaderTests
{
    [Fact]
    public void Opening_a_run_while_its_trainer_saves_and_prunes_follows_latest_instead_of_failing()
    {
        using var run = new TempDirectory();
        var config = TinyModels.Config() with { VocabSize = ByteTokenizer.VocabSize };
        using var model = new LlamaModel(config);
        Checkpoint.Save(run.Path, Checkpoint.StepName(0), model, config, ByteTokenizer.Default, options: new CheckpointOptions { KeepLast = 1 });
        using var stop = new CancellationTokenSource();
        var writer = new Thread(() =>
        {
            // A trainer saving every step with --keep-last 1: each save deletes the folder 'latest' named before it.
            for (long step = 1; !stop.IsCancellationRequested; step++)
                Checkpoint.Save(run.Path, Checkpoint.StepName(step), model, config, ByteTokenizer.Default, options: new CheckpointOptions { KeepLast = 1 });
        });
        writer.Start();
        var failures = new List<string>();
        try
        {
            for (int i = 0; i < 100; i++)
            {
                try
                {
                    var (loaded, checkpoint) = ModelLoader.OpenAndLoad(run.Path);
                    loaded.Dispose();
                    Assert.StartsWith("step-", Path.GetFileName(checkpoint.Directory), StringComparison.Ordinal);
                }
                catch (Exception e) when (e is IOException or InvalidDataException) { failures.Add(e.Message); }
            }
        }
        finally
        {
            stop.Cancel();
            writer.Join();
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of 100 reads failed, e.g. {failures.FirstOrDefault()}");
    }
}
