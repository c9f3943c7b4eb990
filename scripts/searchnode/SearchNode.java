import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.codelibs.elasticsearch.runner.ElasticsearchClusterRunner;

/**
 * One Elasticsearch 7.10.2 node on 127.0.0.1 for Depot's tests and developers.
 *
 * Usage: java -cp JARS SearchNode.java HTTP_PORT TRANSPORT_PORT DATA_DIR
 *
 * The node runs in this JVM (org.codelibs' cluster runner embeds the real server):
 * single-node discovery, disk thresholds off (a laptop's full disk must not turn
 * indices read-only), bound to loopback only. It prints one "ready" line once the
 * cluster is at least yellow, and closes cleanly on SIGTERM.
 */
public class SearchNode {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: SearchNode HTTP_PORT TRANSPORT_PORT DATA_DIR");
            System.exit(2);
        }
        final String httpPort = args[0];
        final String transportPort = args[1];
        final Path base = Path.of(args[2]).toAbsolutePath();
        Files.createDirectories(base);
        final long started = System.nanoTime();
        final ElasticsearchClusterRunner runner = new ElasticsearchClusterRunner();
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception e) {
                System.err.println("closing the node: " + e);
            }
            stopped.countDown();
        }));
        runner.onBuild((number, settings) -> {
            settings.put("http.port", httpPort);
            settings.put("transport.port", transportPort);
            settings.put("network.host", "127.0.0.1");
            settings.put("discovery.type", "single-node");
            settings.put("cluster.routing.allocation.disk.threshold_enabled", false);
            settings.put("action.auto_create_index", false);
            settings.put("node.name", "depot-search");
        }).build(ElasticsearchClusterRunner.newConfigs()
                .clusterName("depot-search")
                .numOfNode(1)
                .basePath(base.toString())
                .disableESLogger());
        runner.ensureYellow();
        final double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("ready: http://127.0.0.1:%s (node started in %.1f s)%n", httpPort, seconds);
        System.out.flush();
        stopped.await();
    }
}
