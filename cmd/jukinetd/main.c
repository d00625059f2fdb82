/* placeholder, replaced by the real CLI in this session */
int main(void) { return 0; }
