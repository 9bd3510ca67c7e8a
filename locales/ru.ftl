# Веб-приложение folio по-русски. Идентификаторы те же, что в en.ftl.

skip-to-content = К содержимому
search-label = Поиск книг
search-placeholder = Название, автор, слова…
search-button = Найти
nav-label = Главное меню
nav-browse = Каталог
nav-signin = Войти
nav-register = Регистрация
nav-signout = Выйти
language = Язык
footer-api = Документация API

home-title = Главная
home-continue = Продолжить чтение и прослушивание
home-new = Новинки
home-popular = Популярное
home-see-all = Все
home-empty = В библиотеке пока нет книг.
progress-label = Прочитано

search-title = Каталог библиотеки
search-read-as = Показаны результаты для «{ $query }»
search-results-for = Результаты по запросу «{ $query }»
category-below = Подкатегории
filters-label = Фильтры
filter-words = Слова
filter-category = Категория
filter-any-category = Любая категория
filter-format = Формат
filter-any-format = Любой формат
filter-year-from = Год с
filter-year-to = по
filter-language = Код языка
filter-sort = Порядок
filter-apply = Показать книги
filter-by-author = Автор: { $name }
filter-remove = Убрать этот фильтр
sort-relevance = По релевантности
sort-title = По названию
sort-new = Сначала новые
sort-popular = По числу оценок
sort-year = По году
results = Результаты
results-none = Подходящих книг нет.
results-more = Ещё книги

format-print = Печатная
format-ebook = Электронная
format-audiobook = Аудиокнига
format-vinyl = Винил

cover-of = Обложка книги «{ $title }»
book-categories = Категории
book-series = Серия: { $series }
book-editions = Издания
book-no-editions = Изданий пока нет.
rating-average = Оценка { $rating } из 5
rating-none = Оценок пока нет
rating-stars = { $stars ->
    [one] { $stars } звезда из 5
    [few] { $stars } звезды из 5
   *[many] { $stars } звёзд из 5
}
edition-available = Доступно вам
edition-download = Скачать
edition-signin-to-buy = Войдите, чтобы купить
edition-signin = Войдите, чтобы читать

comments = Отзывы
comments-none = Отзывов пока нет.
comments-more = Более ранние отзывы
comment-text = Ваш отзыв
comment-rating = Ваша оценка
comment-no-rating = Без оценки
comment-send = Опубликовать отзыв
comment-signin = Войдите, чтобы оставить отзыв
comment-delete = Удалить мой отзыв

count-books = { $count ->
    [one] { $count } книга
    [few] { $count } книги
   *[many] { $count } книг
}
count-pages = { $count ->
    [one] { $count } страница
    [few] { $count } страницы
   *[many] { $count } страниц
}
count-ratings = { $count ->
    [one] { $count } оценка
    [few] { $count } оценки
   *[many] { $count } оценок
}
duration-short = { $minutes } мин { $seconds } с
duration = { $hours } ч { $minutes } мин

signin-title = Вход
signin-button = Войти
signin-no-account = Впервые здесь?
signin-wrong = Неверное имя пользователя или пароль.
signin-disabled = Эта учётная запись отключена.
signin-too-many = Слишком много попыток. Подождите несколько минут и попробуйте снова.
field-username = Имя пользователя
field-username-or-email = Имя пользователя или эл. почта
field-email = Электронная почта
field-password = Пароль
field-password-hint = Не короче 10 символов.
field-referral = Реферальный код (необязательно)

register-title = Регистрация
register-button = Зарегистрироваться
register-have-account = Уже есть учётная запись?
register-fix = Исправьте поля ниже.
register-invalid-username = Такое имя пользователя использовать нельзя.
register-invalid-email = Этот адрес электронной почты не подходит.
register-invalid-password = Пароль слишком короткий или его легко угадать.
register-invalid-referral_code = Реферальной ссылки с таким кодом нет.
register-invalid-form = Форму не удалось принять.
register-taken-username = Это имя пользователя уже занято.
register-taken-email = Учётная запись с этой почтой уже есть.
register-taken-password = Этот пароль использовать нельзя.
register-taken-referral_code = Этот реферальный код использовать нельзя.
register-taken-form = Что-то из введённого уже занято.

error-400-title = Ошибка в запросе
error-400 = Страница не смогла выполнить запрос.
error-403-title = Доступ запрещён
error-403 = У вас нет доступа к этой странице.
error-404-title = Страница не найдена
error-404 = По этому адресу ничего нет.
error-409-title = Конфликт
error-409 = Это противоречит уже существующим данным.
error-413-title = Слишком большой объём
error-413 = Отправлено слишком много данных.
error-422-title = Проверьте введённые данные
error-422 = Часть введённого нельзя использовать.
error-429-title = Слишком много запросов
error-429 = Подождите немного и попробуйте снова.
error-500-title = Что-то пошло не так
error-500 = folio не смог ответить. Попробуйте ещё раз чуть позже; если ошибка повторяется, сообщите хранителю библиотеки идентификатор запроса ниже.
error-request-id = Идентификатор запроса: { $id }
error-home = На главную

date-1 = { $day } января { $year } г.
date-2 = { $day } февраля { $year } г.
date-3 = { $day } марта { $year } г.
date-4 = { $day } апреля { $year } г.
date-5 = { $day } мая { $year } г.
date-6 = { $day } июня { $year } г.
date-7 = { $day } июля { $year } г.
date-8 = { $day } августа { $year } г.
date-9 = { $day } сентября { $year } г.
date-10 = { $day } октября { $year } г.
date-11 = { $day } ноября { $year } г.
date-12 = { $day } декабря { $year } г.

nav-library = Моя библиотека
edition-buy = Купить
edition-buy-label = Купить издание: { $format }
edition-read = Читать
edition-listen = Слушать
purchase-title = Ваша покупка
purchase-pending = Ждём подтверждения оплаты. Страница обновится сама.
purchase-pay = Перейти к оплате
purchase-paid = Оплачено. Издание в вашей библиотеке.
purchase-failed = Оплата не прошла. Деньги не списаны.
purchase-back = Вернуться к книге
checkout-title = Тестовая оплата
checkout-warning = Тестовый режим: деньги не списываются. Эта страница заменяет платёжный сервис.
checkout-pay = Оплатить
checkout-fail = Отклонить оплату
library-title = Моя библиотека
library-empty = Вы ещё ничего не купили.
library-bought = куплено { $date }

reader-tools = Инструменты чтения
reader-back = Назад к книге
reader-contents = Содержание
reader-chapters = Главы
reader-chapter-of = Глава { $number } из { $count }
reader-previous = ← Предыдущая глава
reader-next = Следующая глава →
reader-smaller = Мельче
reader-larger = Крупнее
reader-dark = Тёмная тема
buy-first-title = Купите это издание, чтобы читать его
buy-first = «{ $title }» в этом издании доступна покупателям.

player-audio = Аудиокнига
player-controls = Воспроизведение
player-back = −30 с
player-play = Слушать
player-forward = +30 с
player-speed = Скорость
player-sleep = Таймер сна
player-sleep-off = Выкл.
player-keys = Клавиши: пробел — пуск и пауза; ← и → — на 30 секунд назад и вперёд.
player-chapters = Главы
player-pause = Пауза

nav-admin = Магазин
admin-title = Управление магазином
admin-users = Пользователи
admin-new-book = Добавить книгу
admin-create-book = Добавить книгу
field-name = Название
admin-categories = Категории
admin-new-category = Добавить категорию
admin-category-under = Внутри
admin-category-top = (верхний уровень)
admin-add-category = Добавить категорию
admin-all-categories = Все категории
admin-no-categories = Категорий пока нет.
admin-edit-category = Изменить: { $name }
admin-author = Автор
admin-author-bio = Биография
admin-book-authors = Изменить авторов:
admin-see-page = Открыть её страницу
admin-book = Книга
admin-save = Сохранить
admin-edit-edition = Изменить издание
admin-edit-edition-of = Изменить издание: { $edition }
admin-new-edition = Добавить издание
admin-add-edition = Добавить издание
admin-upload-label = Файлы (EPUB или PDF; дорожки аудиокниги по порядку)
admin-upload = Загрузить
admin-upload-progress = Ход загрузки
admin-upload-failed = Загрузка не удалась; ничего не сохранено.
admin-file-says-nothing = Файл ничего не сообщает о себе.
admin-apply = Заполнить по файлам
admin-apply-hint = Заполняет то, чего не хватает изданию и книге (страницы, длительность, ISBN, издатель, дата, язык, описание); уже заданное не меняется.
admin-since = С
admin-role = Роль
admin-account = Учётная запись
admin-make-admin = Сделать { $name } хранителем
admin-make-reader = Сделать { $name } читателем
admin-enable = Включить { $name }
admin-disable = Отключить { $name }
admin-enable-short = Включить
admin-disable-short = Отключить
role-admin = Хранитель
role-reader = Читатель
field-title = Название
field-subtitle = Подзаголовок
field-authors = Авторы
field-authors-hint = Имена через запятую; новое имя добавляет автора.
field-year = Год
field-language = Код языка
field-series = Серия
field-series-number = Номер в серии
field-description = Описание
field-access = Кому доступно
field-price = Цена
field-currency = Валюта
access-public = Всем
access-members = Вошедшим читателям
access-buyers = Покупателям
meta-title = Название
meta-creators = Авторы
meta-language = Язык
meta-isbn = ISBN
meta-publisher = Издатель
meta-date = Дата
meta-pages = Страниц
meta-duration = Длительность
meta-description = Описание

nav-account = Профиль
account-title = Ваш профиль
account-profile = Профиль
account-export = Скачать всё, что folio хранит о вас (JSON)
account-password = Пароль и входы
account-current-password = Текущий пароль
account-new-password = Новый пароль
account-keep-keys = Оставить мои API-ключи действующими
account-change-password = Сменить пароль
account-password-changed = Пароль изменён. Завершено других входов: { $sessions }, API-ключей: { $keys }.
account-wrong-password = Текущий пароль неверен.
account-sign-ins = Входы
account-sign-in-this = Этот браузер
account-sign-in-browser = Другой браузер
account-sign-in-app = Приложение для чтения
account-sign-in-began = с { $date }
account-end-sign-in = Выйти
account-end-sign-in-of = Завершить вход от { $date }
account-sign-in-ended = Этот вход завершён.
account-everywhere = Выйти везде
account-everywhere-hint = Завершает все входы этой учётной записи: в этом браузере, в других и в приложениях для чтения, вошедших с паролем.
account-apps = Приложения для чтения
account-opds = Каталог OPDS для читалок (KOReader, Thorium, Moon+ Reader…): войдите с именем пользователя и паролем или с API-ключом вместо пароля.
account-kosync = Синхронизация прогресса KOReader: в KOReader «Инструменты → Синхронизация прогресса → Свой сервер», введите этот адрес, затем зарегистрируйтесь или войдите с именем и паролем folio.
account-keys = API-ключи
account-new-key = Ваш новый ключ. Скопируйте его сейчас: больше он показан не будет.
account-no-keys = API-ключей нет.
account-key-used = последнее использование: { $date }
account-never = никогда
account-revoke = Отозвать
account-revoke-key = Отозвать ключ { $name }
account-key-name = Для чего ключ
account-create-key = Создать ключ
account-referrals = Реферальные ссылки
account-link = Ссылка
account-clicks = Переходы
account-signups = Регистрации
account-purchases = Покупки
account-link-code = Код (необязательно)
account-create-link = Создать ссылку
account-notes = Заметки и закладки
account-no-notes = Заметок пока нет.
comment-edit = Изменить мой отзыв
comment-save = Сохранить отзыв
admin-purchases = Покупки
admin-cover = Обложка
admin-cover-label = Изображение обложки (JPEG, PNG или WebP)
admin-cover-upload = Установить обложку
admin-filter-status = Статус
admin-filter-user = Id пользователя
admin-filter-any = Любой
admin-events = События вебхука
admin-no-events = пока нет
admin-no-purchases = Подходящих покупок нет.
status-pending = Ожидает оплаты
status-paid = Оплачена
status-failed = Не прошла
status-refunded = Возвращена
library-owned = Купленное
library-free = Свободно для чтения и прослушивания
