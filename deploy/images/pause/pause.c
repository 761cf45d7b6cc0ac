/*
 * The pod sandbox process: it holds the pod's namespaces open and does
 * nothing else. It sleeps until SIGTERM or SIGINT (then exits 0) and, as
 * PID 1 of a shared PID namespace would have to, reaps zombie children.
 * Built static, it is the only file of the nanokube/pause image.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'v') {
    printf("nanokube pause 1\n");
    return 0;
  }
  struct sigaction sa_stop = {.sa_handler = stop};
  struct sigaction sa_reap = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigemptyset(&sa_stop.sa_mask);
  sigemptyset(&sa_reap.sa_mask);
  if (sigaction(SIGINT, &sa_stop, NULL) < 0 || sigaction(SIGTERM, &sa_stop, NULL) < 0 ||
      sigaction(SIGCHLD, &sa_reap, NULL) < 0) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) pause();
}
